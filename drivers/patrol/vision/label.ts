import jsQR from "jsqr";
import type { Region } from "../plan.ts";
import { checkRegion, type Rgb } from "./image.ts";

/** The text of the QR code inside a region (jsqr on the crop), or null when none decodes. */
export function readQrLabel(img: Rgb, r: Region): string | null {
  checkRegion(img, r, "label");
  const [l, t, w, h] = r;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = ((t + y) * img.width + l + x) * 3;
      const o = (y * w + x) * 4;
      rgba[o] = img.data[i]!;
      rgba[o + 1] = img.data[i + 1]!;
      rgba[o + 2] = img.data[i + 2]!;
      rgba[o + 3] = 255;
    }
  return jsQR(rgba, w, h, { inversionAttempts: "attemptBoth" })?.data ?? null;
}
