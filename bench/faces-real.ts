// `npm run bench -- faces-real`: the identification pipeline on REAL animal faces, when the dev set
// is present (../shared/datasets/cattle-faces-dev, measurement only: nothing from it is written into
// the repo; adapted models go to a temp folder and are deleted). Absent: says so, exits 0.
// Protocol (models/eval/metrics.ts): per animal, frames in file order; enrolment shots at random from
// the first third, probes the last third, frames between calibrate the threshold; 30% of animals never
// enrolled (and never trained on). Herd adaptation fine-tunes the base model on the enrolled animals'
// early third only. Dev set elsewhere: FACES_DEV_SET=DIR. Budget: FACES_REAL_EPOCHS (default 10), FACES_REAL_LR (default 0.002), FACES_REAL_SEEDS (default 1), FACES_REAL_ENROL (default 0.34). FACES_REAL_CANDIDATE=DIR measures another base model in the same run (FACES_REAL_CANDIDATE_FREEZE: layers its herd adaptation keeps). Then the issue's protocol (faces-real-ref.ts: 20 held-out animals, a `model train` reference on the others; FACES_REAL_REF=0 leaves it out).
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
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
import { type BenchLine, devSetDir, ENROL, fuse3, issueReference, PROBE } from "./faces-real-ref.ts";

export type { BenchLine };

export const DEV_SET = devSetDir();

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

type Push = (k: string, x: number) => void;

function record(push: Push, tag: string, m: EvalMetrics): void {
  // printed as it comes, so a run stopped by its time budget still says what it measured
  process.stderr.write(
    `faces-real ${tag}: rank-1 ${(m.rank1 * 100).toFixed(1)}%, rank-5 ${(m.rank5 * 100).toFixed(1)}%, TAR@FAR1% ${(m.tarAtFar * 100).toFixed(1)}%, identified ${(m.identificationRate * 100).toFixed(1)}%, unknown rejected ${(m.unknownRejection * 100).toFixed(1)}% (threshold ${m.threshold.toFixed(3)}, ${m.queries} probes)\n`,
  );
  push(`${tag} rank-1`, m.rank1);
  push(`${tag} rank-5`, m.rank5);
  push(`${tag} TAR @ FAR 1%`, m.tarAtFar);
  push(`${tag} identified at calibrated threshold`, m.identificationRate);
  push(`${tag} unknown rejected at calibrated threshold`, m.unknownRejection);
}

/** Frozen figures of one model's embeddings ("base …") or an adapted one's ("adapted …"). */
function evaluateAll(
  push: Push,
  tag: string,
  v: Float32Array,
  dim: number,
  set: FaceSet,
  seed: number,
  adapted: boolean,
) {
  const unknown = unknownAnimals(set.labels.length, seed);
  const emb = { dim } as Embedder;
  for (const shots of [3, 10]) {
    const m = evaluate(v, emb, set, shots, unknown, seed, adapted);
    record(push, `${tag} ${shots} shots`, m);
    if (shots !== 3) continue;
    push(
      `${tag} 3 shots 3-frame visit rank-1`,
      evaluate(fuse3(v, dim, set.y), emb, set, 3, unknown, seed, adapted).rank1,
    );
    const vis = visits(v, dim, set, m.threshold, new Set(unknown));
    push(`${tag} consecutive frames joined, tracking`, vis.track);
    push(`${tag} consecutive frames joined, match rule`, vis.match);
  }
}

/** The enrolled animals' enrolment pool (early frames) only: never the unknown animals, never late frames. */
function herdOf(set: FaceSet, seed: number): FaceSet {
  const unk = new Set(unknownAnimals(set.labels.length, seed));
  const early: number[] = [];
  const byPig = set.labels.map(() => [] as number[]);
  for (let i = 0; i < set.y.length; i++) byPig[set.y[i]!]!.push(i);
  for (const [c, imgs] of byPig.entries()) {
    if (unk.has(c) || imgs.length < 2) continue;
    const nProbe = Math.max(1, Math.floor(imgs.length * PROBE));
    const nPool = Math.max(1, Math.min(imgs.length - nProbe, Math.ceil(imgs.length * ENROL)));
    early.push(...imgs.slice(0, nPool));
  }
  return subsetImages(set, early);
}

/**
 * One model through the protocol, every seed: its own figures, then herd adaptation of it (with
 * `freeze` layers kept; adapt's default otherwise). `tag` prefixes the metric names.
 */
async function measureModel(
  dir: string,
  tag: string,
  freeze: number | undefined,
  o: { epochs: number; seeds: number },
  push: Push,
): Promise<{ images: number; animals: number; msPerFace: number; bytes: number }> {
  const base = await loadEmbedder(dir);
  const set = await loadImageFolder(DEV_SET, { size: base.size });
  const t0 = performance.now();
  const vBase = base.embedMany(set.pixels, set.y.length, 1);
  const msPerFace = (performance.now() - t0) / set.y.length;
  const dim = base.dim;
  base.dispose();
  const work = mkdtempSync(join(tmpdir(), "bl-faces-real-"));
  try {
    for (let seed = 1; seed <= o.seeds; seed++) {
      evaluateAll(push, `${tag}base`, vBase, dim, set, seed, false);
      const herd = herdOf(set, seed);
      const t1 = performance.now();
      const r = await adaptModel({
        herd,
        base: dir,
        out: work,
        holdout: 0.25,
        epochs: o.epochs,
        lr: Number(process.env.FACES_REAL_LR ?? 2e-3),
        seed,
        freeze,
        progress: true,
        force: true,
        version: `bench-${seed}`,
      });
      push(`${tag}adapt training time`, (performance.now() - t1) / 1000);
      push(`${tag}adapt training images`, herd.y.length);
      const adapted = await loadEmbedder(r.dir);
      evaluateAll(
        push,
        `${tag}adapted`,
        adapted.embedMany(set.pixels, set.y.length),
        adapted.dim,
        set,
        seed,
        true,
      );
      adapted.dispose();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const bytes = statSync(join(dir, "weights.bin")).size;
  return { images: set.y.length, animals: set.labels.length, msPerFace, bytes };
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
      ...(baseline === undefined
        ? {}
        : { baseline: unit === "%" ? baseline * 100 : baseline, ratio: value / (baseline || 1) }),
    });
  const acc: Record<string, number[]> = {};
  const push: Push = (k, x) => {
    acc[k] ??= [];
    acc[k].push(x);
  };
  // FACES_REAL_CANDIDATE=DIR: another base model measured in the same run, against the shipped one
  const models: { dir: string; tag: string; freeze?: number }[] = [{ dir: PRETRAINED_DIR, tag: "" }];
  const cand = process.env.FACES_REAL_CANDIDATE;
  const candFreeze = process.env.FACES_REAL_CANDIDATE_FREEZE;
  if (cand)
    models.push({
      dir: resolve(cand),
      tag: "candidate ",
      freeze: candFreeze ? Number(candFreeze) : undefined,
    });
  const shipped: Record<string, number> = {};
  for (const [i, m] of models.entries()) {
    const r = await measureModel(m.dir, m.tag, m.freeze, { epochs, seeds }, push);
    if (i === 0) {
      add("images", r.images, "n");
      add("animals", r.animals, "n");
      shipped.ms = r.msPerFace;
      shipped.mb = r.bytes / 1e6;
    }
    add(`${m.tag}base ms/face (${rt.backend}, batch 1)`, r.msPerFace, "ms", i > 0 ? shipped.ms : undefined);
    add(`${m.tag}weights size`, r.bytes / 1e6, "MB", i > 0 ? shipped.mb : undefined);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [k, xs] of Object.entries(acc)) {
    const unit = k.endsWith("time") ? "s" : k.endsWith("images") ? "n" : "%";
    // adapted against the same model before adaptation; a candidate's figures against the shipped model's
    const baseKey = k.startsWith("candidate ")
      ? k.slice("candidate ".length)
      : k.startsWith("adapted")
        ? k.replace("adapted", "base")
        : undefined;
    add(k, mean(xs), unit, unit === "%" && baseKey && acc[baseKey] ? mean(acc[baseKey]) : undefined);
  }
  // the issue's protocol, a same-run reference for its 47% rank-1 (FACES_REAL_REF=0 leaves it out)
  if (process.env.FACES_REAL_REF !== "0") lines.push(...(await issueReference({ seeds })));
  return lines;
}
