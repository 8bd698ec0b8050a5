import sharp from "sharp";
import { ERR_FACE_DECODE, ERR_FACE_QUALITY } from "../errors.ts";
import { assessQuality, defaultQuality, type QualityOptions } from "../pipeline/quality.ts";

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

/**
 * Decodes any image sharp reads (JPEG, PNG, …) to an INPUT_SIZE² RGB crop, stretched to fill. The
 * EXIF orientation is applied first (`rotate()`): a phone held sideways stores the pixels rotated and
 * says so in a tag, and a face embedded sideways matches nobody. A truncated or corrupt file throws
 * BL_FACE_DECODE naming it (sharp's own message names neither the file nor a code).
 */
export async function decodeFace(
  img: Buffer | string,
  size = INPUT_SIZE,
  region?: { left: number; top: number; width: number; height: number },
): Promise<Uint8Array> {
  const name = typeof img === "string" ? img : "image";
  try {
    // failOn "truncated": libvips otherwise fills a cut-off JPEG with grey and returns it as a face
    let s = sharp(img, { failOn: "truncated" }).rotate().removeAlpha();
    if (region) s = s.extract(region);
    const { data } = await s.resize(size, size, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (e) {
    throw ERR_FACE_DECODE(`${name}: cannot decode: ${(e as Error).message}`, { file: name }, e);
  }
}

/**
 * The enrolment gate: looser than the barn's (defaultQuality), since an installer's photo is
 * chosen, not caught; it refuses what cannot be a usable face (a thumbnail, a blank or black frame).
 */
export const enrolmentQuality: QualityOptions = {
  ...defaultQuality,
  minFacePx: 32,
  minSharpness: 2,
  exposure: [20, 235],
  maxClipped: 0.5,
};

/**
 * Decodes an enrolment photo and applies the quality gate to it (pipeline/quality.ts): a template
 * from a tiny, blurred or badly exposed photo matches nothing well and raises unknown-pig alarms for
 * its own pig. Size is judged on the photo as stored (after EXIF rotation); blur and exposure on the
 * photo scaled to `judgeAt` px on its short side, the scale the barn's gate sees faces at.
 */
export async function decodeEnrolmentFace(
  file: string | Buffer,
  size = INPUT_SIZE,
  o: QualityOptions = enrolmentQuality,
  judgeAt = 96,
): Promise<Uint8Array> {
  const name = typeof file === "string" ? file : "image";
  let meta: { width: number; height: number; data: Buffer };
  try {
    const s = sharp(file, { failOn: "truncated" }).rotate().removeAlpha();
    const m = await s.metadata();
    const sw = m.autoOrient?.width ?? m.width ?? 0;
    const sh = m.autoOrient?.height ?? m.height ?? 0;
    if (Math.min(sw, sh) < o.minFacePx) {
      throw ERR_FACE_QUALITY(`${name}: ${sw}×${sh} px is smaller than ${o.minFacePx} px (quality: size)`, {
        file: name,
        reason: "size",
      });
    }
    const k = judgeAt / Math.min(sw, sh);
    const w = Math.max(1, Math.round(sw * k));
    const h = Math.max(1, Math.round(sh * k));
    const { data } = await s.resize(w, h, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true });
    meta = { width: w, height: h, data };
  } catch (e) {
    if (ERR_FACE_QUALITY.is(e)) throw e;
    throw ERR_FACE_DECODE(`${name}: cannot decode: ${(e as Error).message}`, { file: name }, e);
  }
  const q = assessQuality(
    meta.data,
    meta.width,
    { left: 0, top: 0, width: meta.width, height: meta.height },
    {
      ...o,
      minFacePx: 1,
    },
  );
  if (!q.ok) {
    throw ERR_FACE_QUALITY(
      `${name}: failed the quality gate (${q.reason}: sharpness ${q.sharpness.toFixed(0)}, mean ${q.mean.toFixed(0)}, clipped ${(q.clipped * 100).toFixed(0)}%)`,
      { file: name, reason: q.reason },
    );
  }
  return decodeFace(file, size);
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
