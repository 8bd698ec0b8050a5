import sharp from "sharp";
import { phashOfGrey } from "../../core/phash.ts";

/**
 * The perceptual hash of a JPEG (core/phash.ts): greyscale, squashed to 32×32, DCT. Sent beside the
 * frame's SHA-256 so the cloud can tell a re-encoded or retouched copy of an earlier frame
 * (docs/evidence-quality.md, near-frames).
 */
export async function framePhash(jpeg: Buffer): Promise<string> {
  const px = await sharp(jpeg, { failOn: "error" })
    .greyscale()
    .resize(32, 32, { fit: "fill", kernel: "lanczos3" })
    .raw()
    .toBuffer();
  return phashOfGrey(px);
}
