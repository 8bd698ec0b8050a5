import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { drawQr, earTagText, qrPixels } from "./qr.ts";
import { type Canvas, drawFace, fillBackground, newCanvas, type Pose, randomPose } from "./render.ts";
import { mix, rng } from "./rng.ts";
import { type PigTraits, pigTraits } from "./traits.ts";

export interface DatasetOptions {
  dir: string;
  pigs: number;
  perPig: number;
  seed: number;
  /** Side of each face image in pixels (default 64). */
  size?: number;
  /** Draw the pig's ear-tag QR code beside the face (the image gets wider). */
  qr?: boolean;
  /** First pig index: lets two calls make disjoint herds from one seed. */
  offset?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function canvasToJpeg(c: Canvas, blur = 0, quality = 90): Promise<Buffer> {
  let img = sharp(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.length), {
    raw: { width: c.width, height: c.height, channels: 3 },
  });
  if (blur >= 0.3) img = img.blur(blur);
  return img.jpeg({ quality }).toBuffer();
}

/** One posed picture of a pig's face as a JPEG (`sample` picks the pose deterministically). */
export async function faceJpeg(
  t: PigTraits,
  seed: number,
  sample: number,
  opts: { size?: number; qr?: boolean; pose?: Pose } = {},
): Promise<Buffer> {
  const size = opts.size ?? 64;
  const r = rng(mix(mix(seed, sample), t.id.length * 7919 + t.id.charCodeAt(t.id.length - 1)));
  const pose = opts.pose ?? randomPose(r);
  const module = Math.max(2, Math.floor(size / 40));
  const tag = earTagText(t.id);
  const qrw = opts.qr ? qrPixels(tag, module) : 0;
  const c = newCanvas(size + qrw, Math.max(size, qrw));
  fillBackground(c, r);
  drawFace(c, [0, 0, size, size], t, pose, r);
  if (opts.qr) drawQr(c, tag, size, 0, module);
  return canvasToJpeg(c, pose.blur);
}

/**
 * Writes a synthetic herd as DIR/<pigId>/NNN.jpg: the same layout a farm's own labelled photos
 * use, so training and evaluation read both the same way. Returns the pig ids.
 */
export async function generateDataset(o: DatasetOptions): Promise<string[]> {
  const ids: string[] = [];
  const total = o.pigs * o.perPig;
  let done = 0;
  for (let i = 0; i < o.pigs; i++) {
    const t = pigTraits(o.seed, (o.offset ?? 0) + i);
    ids.push(t.id);
    const dir = join(o.dir, t.id);
    mkdirSync(dir, { recursive: true });
    for (let k = 0; k < o.perPig; k++) {
      const jpeg = await faceJpeg(t, o.seed, k, { size: o.size, qr: o.qr });
      writeFileSync(join(dir, `${String(k).padStart(3, "0")}.jpg`), jpeg);
      done++;
      o.onProgress?.(done, total);
    }
  }
  return ids;
}
