import jsQR from "jsqr";
import { pigFromTag } from "./tag-text.ts";

/** Decodes an ear-tag QR code (`pig:<id>`) anywhere in a decoded RGB frame; null when none. */
export function readEarTag(rgb: Buffer | Uint8Array, width: number, height: number): string | null {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += 3) {
    rgba[i * 4] = rgb[j]!;
    rgba[i * 4 + 1] = rgb[j + 1]!;
    rgba[i * 4 + 2] = rgb[j + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  // Tags are printed dark on light: skipping the inverted pass halves the decode time.
  const code = jsQR(rgba, width, height, { inversionAttempts: "dontInvert" });
  return code ? pigFromTag(code.data) : null;
}
