import sharp from "sharp";
import { ERR_EQUIP_IMAGE, ERR_EQUIP_REGION } from "../errors.ts";
import type { Region } from "../plan.ts";

/** A decoded frame: 3 bytes (R, G, B) per pixel, row by row. */
export interface Rgb {
  width: number;
  height: number;
  data: Buffer;
}

/** Decodes a JPEG/PNG (any sharp input) to raw RGB, EXIF orientation applied. */
export async function decodeRgb(image: Buffer): Promise<Rgb> {
  try {
    const { data, info } = await sharp(image)
      .rotate()
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data };
  } catch (e) {
    throw ERR_EQUIP_IMAGE(`cannot decode the image: ${(e as Error).message}`);
  }
}

/** Throws a coded error when a region does not lie inside the frame. */
export function checkRegion(img: Rgb, r: Region | number[], what: string): void {
  const [l, t, w, h] = r as Region;
  if (w <= 0 || h <= 0 || l + w > img.width || t + h > img.height)
    throw ERR_EQUIP_REGION(
      `${what}: region [${r.join(", ")}] is outside the ${img.width}×${img.height} frame`,
    );
}

/** Luminance 0..1 (Rec. 601 weights) of pixel (x, y). */
export function lum(img: Rgb, x: number, y: number): number {
  const i = (y * img.width + x) * 3;
  return (0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!) / 255;
}

/** Hue (degrees), saturation and value (0..1) of pixel (x, y). */
export function hsv(img: Rgb, x: number, y: number): { h: number; s: number; v: number } {
  const i = (y * img.width + x) * 3;
  const r = img.data[i]! / 255;
  const g = img.data[i + 1]! / 255;
  const b = img.data[i + 2]! / 255;
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  let h = 0;
  if (d > 0) {
    if (max === r) h = 60 * (((g - b) / d) % 6);
    else if (max === g) h = 60 * ((b - r) / d + 2);
    else h = 60 * ((r - g) / d + 4);
  }
  return { h: (h + 360) % 360, s: max === 0 ? 0 : d / max, v: max };
}

/** Mean luminance of a window. */
export function meanLum(img: Rgb, l: number, t: number, w: number, h: number): number {
  let s = 0;
  let n = 0;
  for (let y = Math.max(0, t); y < Math.min(img.height, t + h); y++)
    for (let x = Math.max(0, l); x < Math.min(img.width, l + w); x++) {
      s += lum(img, x, y);
      n++;
    }
  return n ? s / n : 0;
}

/** Otsu's threshold of a region's luminance (Otsu 1979): splits dark from bright whatever the exposure. */
export function otsu(img: Rgb, r: Region): number {
  const [l, t, w, h] = r;
  const hist = new Array<number>(64).fill(0);
  for (let y = t; y < t + h; y++)
    for (let x = l; x < l + w; x++) hist[Math.min(63, Math.floor(lum(img, x, y) * 64))]!++;
  const total = w * h;
  let sum = 0;
  for (let i = 0; i < 64; i++) sum += i * hist[i]!;
  let sumB = 0;
  let wB = 0;
  let best = 0;
  let at = 32;
  for (let i = 0; i < 64; i++) {
    wB += hist[i]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += i * hist[i]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) {
      best = between;
      at = i;
    }
  }
  return (at + 1) / 64;
}
