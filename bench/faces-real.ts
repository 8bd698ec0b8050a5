// `npm run bench -- faces-real`: the identification pipeline on REAL animal faces, when the dev set
// is present (../shared/datasets/cattle-faces-dev, measurement only: nothing from it is written into
// the repo; adapted models go to a temp folder and are deleted). Absent: says so, exits 0.
// Protocol (models/eval/metrics.ts): per animal, frames in file order; enrolment shots at random from
// the first third, probes the last third, frames between calibrate the threshold; 30% of animals never
// enrolled (and never trained on). Herd adaptation fine-tunes the base model on the enrolled animals'
// early third only. Dev set elsewhere: FACES_DEV_SET=DIR. Budget: FACES_REAL_EPOCHS (default 10), FACES_REAL_LR (default 0.002), FACES_REAL_SEEDS (default 1), FACES_REAL_ENROL (default 0.34).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { adaptModel } from "../models/adapt.ts";
import { type Embedder, loadEmbedder } from "../models/embed/embedder.ts";
import { type FaceSet, loadImageFolder } from "../models/embed/image-folder.ts";
import { subsetImages } from "../models/embed/subset.ts";
import { type EvalMetrics, evaluateEmbeddings } from "../models/eval/metrics.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { ensureRuntime } from "../models/runtime.ts";
import { rng } from "../models/synth/rng.ts";

export interface BenchLine {
  bench: "faces-real";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

/** ../shared next to the repo (as in the lead's checkout), or FACES_DEV_SET=/path/to/cattle-faces-dev. */
export const DEV_SET = join(
  process.env.FACES_DEV_SET ?? resolve(import.meta.dirname, "../../shared/datasets/cattle-faces-dev"),
  "images",
);
// the dev set README: enrol from the first third of an animal's frames, probe with the last third
const ENROL = Number(process.env.FACES_REAL_ENROL ?? 0.34);
const PROBE = 1 / 3;

function unknownAnimals(n: number, seed: number): number[] {
  const r = rng(seed * 7919 + 1);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, Math.round(n * 0.3));
}

function evaluate(
  v: Float32Array,
  emb: Embedder,
  set: FaceSet,
  shots: number,
  unknown: number[],
  seed: number,
  adapted: boolean,
) {
  return evaluateEmbeddings(v, emb.dim, set.y, set.labels, {
    galleryPerPig: shots,
    unknown,
    enrolShare: ENROL,
    probeShare: PROBE,
    poolCalibrates: !adapted,
    seed,
  });
}

/** Visits: runs of 3 consecutive late frames of one animal, fused by mean; and how often tracking joins frames. */
function visits(v: Float32Array, dim: number, set: FaceSet, threshold: number, unknown: Set<number>) {
  let joinTrack = 0;
  let joinMatch = 0;
  let pairs = 0;
  const byPig = set.labels.map(() => [] as number[]);
  for (let i = 0; i < set.y.length; i++) byPig[set.y[i]!]!.push(i);
  const cos = (a: number, b: number) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += v[a * dim + k]! * v[b * dim + k]!;
    return s;
  };
  for (const [c, imgs] of byPig.entries()) {
    if (unknown.has(c)) continue;
    for (let k = 1; k < imgs.length; k++) {
      const s = cos(imgs[k - 1]!, imgs[k]!);
      pairs++;
      if (s >= threshold - 0.25) joinTrack++;
      if (s >= threshold) joinMatch++;
    }
  }
  return { track: joinTrack / pairs, match: joinMatch / pairs };
}

/** Replaces each probe (last third) by the mean of itself and the 2 frames before it: a 3-frame visit. */
function fuse3(v: Float32Array, dim: number, set: FaceSet): Float32Array {
  const out = Float32Array.from(v);
  for (let i = 2; i < set.y.length; i++) {
    if (set.y[i - 2] !== set.y[i]) continue;
    let n = 0;
    for (let k = 0; k < dim; k++) {
      const x = v[i * dim + k]! + v[(i - 1) * dim + k]! + v[(i - 2) * dim + k]!;
      out[i * dim + k] = x;
      n += x * x;
    }
    n = Math.sqrt(n) || 1;
    for (let k = 0; k < dim; k++) out[i * dim + k]! /= n;
  }
  return out;
}

export async function benchFacesReal(): Promise<BenchLine[]> {
  if (!existsSync(DEV_SET)) {
    process.stderr.write(`faces-real: the real-face dev set is absent (${DEV_SET}); nothing measured.\n`);
    return [{ bench: "faces-real", metric: "dev set present", value: 0, unit: "bool" }];
  }
  const rt = await ensureRuntime({ prefer: "wasm" });
  const epochs = Number(process.env.FACES_REAL_EPOCHS ?? 10);
  const seeds = Number(process.env.FACES_REAL_SEEDS ?? 1);
  const lines: BenchLine[] = [];
  const add = (metric: string, value: number, unit = "%", baseline?: number) =>
    lines.push({
      bench: "faces-real",
      metric,
      value: unit === "%" ? value * 100 : value,
      unit,
      ...(baseline === undefined ? {} : { baseline: baseline * 100, ratio: value / (baseline || 1) }),
    });
  const base = await loadEmbedder(PRETRAINED_DIR);
  const set = await loadImageFolder(DEV_SET, { size: base.size });
  add("images", set.y.length, "n");
  add("animals", set.labels.length, "n");
  const t0 = performance.now();
  const vBase = base.embedMany(set.pixels, set.y.length, 1);
  add(`base ms/face (${rt.backend}, batch 1)`, (performance.now() - t0) / set.y.length, "ms");
  base.dispose();
  const acc: Record<string, number[]> = {};
  const push = (k: string, x: number) => {
    acc[k] ??= [];
    acc[k].push(x);
  };
  const record = (tag: string, m: EvalMetrics) => {
    // printed as it comes, so a run stopped by its time budget still says what it measured
    process.stderr.write(
      `faces-real ${tag}: rank-1 ${(m.rank1 * 100).toFixed(1)}%, rank-5 ${(m.rank5 * 100).toFixed(1)}%, TAR@FAR1% ${(m.tarAtFar * 100).toFixed(1)}%, identified ${(m.identificationRate * 100).toFixed(1)}%, unknown rejected ${(m.unknownRejection * 100).toFixed(1)}% (threshold ${m.threshold.toFixed(3)}, ${m.queries} probes)\n`,
    );
    push(`${tag} rank-1`, m.rank1);
    push(`${tag} rank-5`, m.rank5);
    push(`${tag} TAR @ FAR 1%`, m.tarAtFar);
    push(`${tag} identified at calibrated threshold`, m.identificationRate);
    push(`${tag} unknown rejected at calibrated threshold`, m.unknownRejection);
  };
  const work = mkdtempSync(join(tmpdir(), "bl-faces-real-"));
  try {
    for (let seed = 1; seed <= seeds; seed++) {
      const unknown = unknownAnimals(set.labels.length, seed);
      const unk = new Set(unknown);
      const bEmb = { dim: vBase.length / set.y.length } as Embedder;
      for (const shots of [3, 10]) {
        const m = evaluate(vBase, bEmb, set, shots, unknown, seed, false);
        record(`base ${shots} shots`, m);
        if (shots === 3) {
          push(
            "base 3 shots 3-frame visit rank-1",
            evaluate(fuse3(vBase, bEmb.dim, set), bEmb, set, 3, unknown, seed, false).rank1,
          );
          const vis = visits(vBase, bEmb.dim, set, m.threshold, unk);
          push("base consecutive frames joined, tracking", vis.track);
          push("base consecutive frames joined, match rule", vis.match);
        }
      }
      // herd adaptation: the enrolled animals' enrolment pool (early frames) only (never the unknown animals, never late frames)
      const early: number[] = [];
      const byPig = set.labels.map(() => [] as number[]);
      for (let i = 0; i < set.y.length; i++) byPig[set.y[i]!]!.push(i);
      for (const [c, imgs] of byPig.entries()) {
        if (unk.has(c) || imgs.length < 2) continue;
        const nProbe = Math.max(1, Math.floor(imgs.length * PROBE));
        const nPool = Math.max(1, Math.min(imgs.length - nProbe, Math.ceil(imgs.length * ENROL)));
        early.push(...imgs.slice(0, nPool));
      }
      const herd = subsetImages(set, early);
      const t1 = performance.now();
      const r = await adaptModel({
        herd,
        out: work,
        holdout: 0.25,
        epochs,
        lr: Number(process.env.FACES_REAL_LR ?? 2e-3),
        seed,
        progress: true,
        force: true,
        version: `bench-${seed}`,
      });
      push("adapt training time", (performance.now() - t1) / 1000);
      push("adapt training images", herd.y.length);
      const adapted = await loadEmbedder(r.dir);
      const vA = adapted.embedMany(set.pixels, set.y.length);
      for (const shots of [3, 10]) {
        const m = evaluate(vA, adapted, set, shots, unknown, seed, true);
        record(`adapted ${shots} shots`, m);
        if (shots === 3) {
          push(
            "adapted 3 shots 3-frame visit rank-1",
            evaluate(fuse3(vA, adapted.dim, set), adapted, set, 3, unknown, seed, true).rank1,
          );
          const vis = visits(vA, adapted.dim, set, m.threshold, unk);
          push("adapted consecutive frames joined, tracking", vis.track);
          push("adapted consecutive frames joined, match rule", vis.match);
        }
      }
      adapted.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [k, xs] of Object.entries(acc)) {
    const unit = k.endsWith("time") ? "s" : k.endsWith("images") ? "n" : "%";
    const baseKey = k.startsWith("adapted") ? k.replace("adapted", "base") : undefined;
    add(k, mean(xs), unit, unit === "%" && baseKey && acc[baseKey] ? mean(acc[baseKey]) : undefined);
  }
  return lines;
}
