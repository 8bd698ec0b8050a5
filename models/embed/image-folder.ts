import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeFace, INPUT_SIZE } from "./preprocess.ts";

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** A labelled image folder decoded to face crops: the layout is DIR/<label>/*.jpg. */
export interface FaceSet {
  labels: string[];
  /** Index into `labels` for each image. */
  y: Int32Array;
  /** RGB bytes, INPUT_SIZE² × 3 per image, back to back. */
  pixels: Uint8Array;
  files: string[];
  size: number;
}

export function listImageFolder(dir: string): { label: string; files: string[] }[] {
  return readdirSync(dir)
    .filter((d) => !d.startsWith(".") && statSync(join(dir, d)).isDirectory())
    .sort()
    .map((label) => ({
      label,
      files: readdirSync(join(dir, label))
        .filter((f) => IMAGE.test(f))
        .sort()
        .map((f) => join(dir, label, f)),
    }))
    .filter((c) => c.files.length > 0);
}

export async function loadImageFolder(
  dir: string,
  opts: { size?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<FaceSet> {
  const size = opts.size ?? INPUT_SIZE;
  const classes = listImageFolder(dir);
  const total = classes.reduce((n, c) => n + c.files.length, 0);
  const per = size * size * 3;
  const pixels = new Uint8Array(total * per);
  const y = new Int32Array(total);
  const files: string[] = [];
  let i = 0;
  for (const [ci, c] of classes.entries()) {
    for (const f of c.files) {
      pixels.set(await decodeFace(f, size), i * per);
      y[i] = ci;
      files.push(f);
      i++;
      opts.onProgress?.(i, total);
    }
  }
  return { labels: classes.map((c) => c.label), y, pixels, files, size };
}
