import sharp from "sharp";

/** Side of the square face crop the embedding network takes. */
export const INPUT_SIZE = 64;

/**
 * Per-image standardisation (zero mean, unit variance over all pixels and channels): barns are lit
 * unevenly, and this removes overall brightness and contrast while keeping colour ratios and markings.
 */
export function standardise(rgb: Uint8Array | Uint8ClampedArray, out: Float32Array, offset = 0): void {
  const n = rgb.length;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = rgb[i]!;
    sum += v;
    sq += v * v;
  }
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(sq / n - mean * mean, 1));
  for (let i = 0; i < n; i++) out[offset + i] = (rgb[i]! - mean) / sd;
}

/** Decodes any image sharp reads (JPEG, PNG, …) to an INPUT_SIZE² RGB crop, stretched to fill. */
export async function decodeFace(
  img: Buffer | string,
  size = INPUT_SIZE,
  region?: { left: number; top: number; width: number; height: number },
): Promise<Uint8Array> {
  let s = sharp(img).removeAlpha();
  if (region) s = s.extract(region);
  const { data } = await s.resize(size, size, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Resizes a crop of an already decoded RGB frame (so a frame is decoded once for all its ROIs). */
export async function cropRaw(
  rgb: Buffer,
  width: number,
  height: number,
  region: { left: number; top: number; width: number; height: number },
  size = INPUT_SIZE,
): Promise<Uint8Array> {
  const { data } = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .extract(region)
    .resize(size, size, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
