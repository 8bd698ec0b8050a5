import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BarnlinkError } from "../../core/errors.ts";
import { decodeFace, INPUT_SIZE } from "./preprocess.ts";

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** An image left out of a run, and why: the run goes on without it. */
export interface SkippedImage {
  file: string;
  code: string;
  message: string;
}

/** A labelled image folder decoded to face crops: the layout is DIR/<label>/*.jpg. */
export interface FaceSet {
  labels: string[];
  /** Index into `labels` for each image. */
  y: Int32Array;
  /** RGB bytes, INPUT_SIZE² × 3 per image, back to back. */
  pixels: Uint8Array;
  files: string[];
  size: number;
  /** Files that could not be used (decode or quality), with their code; not in `files`. */
  skipped: SkippedImage[];
}

/** Natural order ("9.jpg" before "10.jpg"): frame numbers in file names then follow time. */
const natural = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

export function listImageFolder(dir: string): { label: string; files: string[] }[] {
  return readdirSync(dir)
    .filter((d) => !d.startsWith(".") && statSync(join(dir, d)).isDirectory())
    .sort()
    .map((label) => ({
      label,
      files: readdirSync(join(dir, label))
        .filter((f) => IMAGE.test(f))
        .sort(natural)
        .map((f) => join(dir, label, f)),
    }))
    .filter((c) => c.files.length > 0);
}

/** What a decoder failure becomes in a skip list: its code when coded, else BL_FACE_DECODE. */
export function skipOf(file: string, e: unknown): SkippedImage {
  const code = e instanceof BarnlinkError ? e.code : "BL_FACE_DECODE";
  return { file, code, message: (e as Error)?.message ?? String(e) };
}

export async function loadImageFolder(
  dir: string,
  opts: {
    size?: number;
    onProgress?: (done: number, total: number) => void;
    /** Decoder per file (default decodeFace); a throw skips the file and the run goes on. */
    decode?: (file: string, size: number) => Promise<Uint8Array>;
  } = {},
): Promise<FaceSet> {
  const size = opts.size ?? INPUT_SIZE;
  const decode = opts.decode ?? ((f: string, s: number) => decodeFace(f, s));
  const classes = listImageFolder(dir);
  const total = classes.reduce((n, c) => n + c.files.length, 0);
  const per = size * size * 3;
  const pixels = new Uint8Array(total * per);
  const y = new Int32Array(total);
  const files: string[] = [];
  const skipped: SkippedImage[] = [];
  const labels: string[] = [];
  let i = 0;
  let seen = 0;
  for (const c of classes) {
    const start = i;
    for (const f of c.files) {
      seen++;
      try {
        pixels.set(await decode(f, size), i * per);
      } catch (e) {
        skipped.push(skipOf(f, e));
        opts.onProgress?.(seen, total);
        continue;
      }
      y[i] = labels.length;
      files.push(f);
      i++;
      opts.onProgress?.(seen, total);
    }
    // an animal whose every photo was skipped is not a class (no images to train or enrol)
    if (i > start) labels.push(c.label);
  }
  return { labels, y: y.slice(0, i), pixels: pixels.slice(0, i * per), files, size, skipped };
}
