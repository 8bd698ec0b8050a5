// The issue's protocol (#16) on the real-face dev set, as a same-run reference for its 47% rank-1:
// per seed, 20 animals held out at random; a reference model trained by `barnlink model train` with
// its defaults (models/train-model.ts, the CLI's code path) on the other animals, in a temp folder
// under $TMPDIR that is deleted after (measurement only: nothing from the dev set enters the repo);
// then the shipped base, the reference and raw pixels (cosine) on the 20 held-out animals: 3 random
// enrolment shots each from the first third of its frames, probes its last third (models/eval/metrics.ts).
// Part of `npm run bench -- faces-real` (FACES_REAL_REF=0 leaves it out) or alone: `-- faces-real-ref`.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Embedder, loadEmbedder } from "../models/embed/embedder.ts";
import { type FaceSet, loadImageFolder } from "../models/embed/image-folder.ts";
import { standardise } from "../models/embed/preprocess.ts";
import { subsetClasses } from "../models/embed/subset.ts";
import { type EvalOptions, evaluateEmbeddings } from "../models/eval/metrics.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { ensureRuntime } from "../models/runtime.ts";
import { rng } from "../models/synth/rng.ts";
import { modelTrain } from "../models/train-model.ts";

export interface BenchLine {
  bench: "faces-real";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

/** ../shared next to the repo (as in the lead's checkout), or FACES_DEV_SET=/path/to/cattle-faces-dev. */
export const devSetDir = () =>
  join(
    process.env.FACES_DEV_SET ?? resolve(import.meta.dirname, "../../shared/datasets/cattle-faces-dev"),
    "images",
  );
// the dev set README: enrol from the first third of an animal's frames, probe with the last third
export const ENROL = Number(process.env.FACES_REAL_ENROL ?? 0.34);
export const PROBE = 1 / 3;

/** The issue's split: `held` animals (class indices) held out at random by `seed`, the rest to train on. */
export function issueSplit(animals: number, seed: number, held = 20): { heldOut: number[]; train: number[] } {
  const r = rng(seed * 104729 + 3);
  const order = Array.from({ length: animals }, (_, i) => i);
  for (let i = animals - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const k = Math.min(held, animals - 1);
  const byIndex = (a: number, b: number) => a - b;
  return { heldOut: order.slice(0, k).sort(byIndex), train: order.slice(k).sort(byIndex) };
}

/** A training folder of `labels` only: DIR/<label> → SRC/<label> symlinks (nothing copied). */
export function linkFolder(src: string, labels: string[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const l of labels) symlinkSync(resolve(src, l), join(dir, l), "dir");
}

/** Raw pixels as the embedding: the model's per-image standardisation, L2-normalised (cosine). */
export function rawPixels(set: FaceSet): { v: Float32Array; dim: number } {
  const dim = set.size * set.size * 3;
  const v = new Float32Array(set.y.length * dim);
  for (let i = 0; i < set.y.length; i++) {
    standardise(set.pixels.subarray(i * dim, (i + 1) * dim), v, i * dim);
    const row = v.subarray(i * dim, (i + 1) * dim);
    let n = 0;
    for (let k = 0; k < dim; k++) n += row[k]! * row[k]!;
    n = Math.sqrt(n) || 1;
    for (let k = 0; k < dim; k++) row[k]! /= n;
  }
  return { v, dim };
}

/**
 * A 3-frame visit: each probe (an animal's last third of frames) replaced by the mean of itself and
 * the 2 frames before it, never reaching into the animal's enrolment pool (its first `enrolShare`),
 * so a fused probe never contains a shot. Other frames are left as they are.
 */
export function fuse3(v: Float32Array, dim: number, y: Int32Array, enrolShare = ENROL): Float32Array {
  const out = Float32Array.from(v);
  const first = new Map<number, number>();
  const count = new Map<number, number>();
  for (let i = 0; i < y.length; i++) {
    if (!first.has(y[i]!)) first.set(y[i]!, i);
    count.set(y[i]!, (count.get(y[i]!) ?? 0) + 1);
  }
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    const n = count.get(c)!;
    const at = i - first.get(c)!;
    const nProbe = n >= 2 ? Math.max(1, Math.floor(n * PROBE)) : 0;
    const nPool = Math.max(1, Math.min(n - nProbe, Math.ceil(n * enrolShare)));
    if (at < n - nProbe) continue;
    const from = Math.max(i - 2, first.get(c)! + nPool);
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      let x = 0;
      for (let j = from; j <= i; j++) x += v[j * dim + k]!;
      out[i * dim + k] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm) || 1;
    for (let k = 0; k < dim; k++) out[i * dim + k]! /= norm;
  }
  return out;
}

export const FIGURES = ["rank-1", "rank-5", "TAR @ FAR 1%", "3-frame visit rank-1"] as const;
type Figures = Record<(typeof FIGURES)[number], number> & { probes: number };

/** The 4 figures of one model's embeddings of the held-out animals (all enrolled: no unknown ones). */
export function issueFigures(v: Float32Array, dim: number, set: FaceSet, seed: number): Figures {
  const o: EvalOptions = { galleryPerPig: 3, unknown: [], enrolShare: ENROL, probeShare: PROBE, seed };
  const m = evaluateEmbeddings(v, dim, set.y, set.labels, o);
  const visit = evaluateEmbeddings(fuse3(v, dim, set.y), dim, set.y, set.labels, o);
  return {
    probes: m.queries,
    "rank-1": m.rank1,
    "rank-5": m.rank5,
    "TAR @ FAR 1%": m.tarAtFar,
    "3-frame visit rank-1": visit.rank1,
  };
}

/** Trains the reference on DATA into OUT; the default is `barnlink model train`'s code path with its defaults. */
export type Trainer = (data: string, out: string, version: string) => Promise<{ dir: string }>;
const trainDefaults: Trainer = (data, out, version) => modelTrain({ data, out, version, progress: false });

export interface RefOptions {
  devSet?: string;
  seeds?: number;
  held?: number;
  train?: Trainer;
  /** Called with the labels each reference is trained on (tests check no held-out animal is among them). */
  onTrainLabels?: (labels: string[], seed: number) => void;
  /** Another base model measured in the same run ("candidate base"; default FACES_REAL_CANDIDATE). */
  candidate?: string;
}

export async function issueReference(o: RefOptions = {}): Promise<BenchLine[]> {
  const devSet = o.devSet ?? devSetDir();
  if (!existsSync(devSet)) {
    process.stderr.write(`faces-real-ref: the real-face dev set is absent (${devSet}); nothing measured.\n`);
    return [{ bench: "faces-real", metric: "dev set present", value: 0, unit: "bool" }];
  }
  await ensureRuntime({ prefer: "wasm" });
  const seeds = o.seeds ?? Number(process.env.FACES_REAL_SEEDS ?? 1);
  const cand = o.candidate ?? process.env.FACES_REAL_CANDIDATE;
  const bases: [string, Embedder][] = [["shipped base", await loadEmbedder(PRETRAINED_DIR)]];
  if (cand) bases.push(["candidate base", await loadEmbedder(resolve(cand))]);
  const sets = new Map<number, FaceSet>();
  const setAt = async (size: number) => {
    if (!sets.has(size)) sets.set(size, await loadImageFolder(devSet, { size }));
    return sets.get(size)!;
  };
  const set = await setAt(bases[0]![1].size);
  const embedHeld = async (e: Embedder, heldOut: number[], seed: number) => {
    const h = subsetClasses(await setAt(e.size), heldOut);
    return issueFigures(e.embedMany(h.pixels, h.y.length), e.dim, h, seed);
  };
  const acc = new Map<string, number[]>();
  const push = (k: string, x: number) => acc.set(k, [...(acc.get(k) ?? []), x]);
  for (let seed = 1; seed <= seeds; seed++) {
    const { heldOut, train } = issueSplit(set.labels.length, seed, o.held);
    const held = subsetClasses(set, heldOut);
    const work = mkdtempSync(join(tmpdir(), "bl-faces-ref-"));
    try {
      const labels = train.map((c) => set.labels[c]!);
      o.onTrainLabels?.(labels, seed);
      linkFolder(devSet, labels, join(work, "data"));
      const t0 = performance.now();
      const ref = await (o.train ?? trainDefaults)(join(work, "data"), join(work, "out"), `ref-${seed}`);
      push("reference training time", (performance.now() - t0) / 1000);
      const refEmb = await loadEmbedder(ref.dir);
      const raw = rawPixels(held);
      const per: [string, Figures][] = [];
      for (const [name, e] of bases) per.push([name, await embedHeld(e, heldOut, seed)]);
      per.push(["reference", await embedHeld(refEmb, heldOut, seed)]);
      per.push(["raw pixels", issueFigures(raw.v, raw.dim, held, seed)]);
      refEmb.dispose();
      for (const [model, f] of per) for (const k of FIGURES) push(`${model} ${k}`, f[k]);
      push("probes", per[0]![1].probes);
      const pc = (x: number) => `${(x * 100).toFixed(1)}%`;
      process.stderr.write(
        `faces-real-ref seed ${seed}: ${held.labels.length} held-out animals (${per[0]![1].probes} probes), ${train.length} to train on (${((performance.now() - t0) / 1000).toFixed(0)} s)\n${per.map(([m, f]) => `  ${m}: ${FIGURES.map((k) => `${k} ${pc(f[k])}`).join(", ")}`).join("\n")}\n`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  for (const [, e] of bases) e.dispose();
  const models = [...bases.map(([name]) => name), "reference", "raw pixels"];
  return referenceLines(acc, models, seeds, o.held ?? 20, set.labels.length);
}

function referenceLines(
  acc: Map<string, number[]>,
  models: string[],
  seeds: number,
  held: number,
  animals: number,
): BenchLine[] {
  const mean = (k: string) => {
    const xs = acc.get(k) ?? [];
    return xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  };
  const tag = "issue protocol:";
  const lines: BenchLine[] = [
    { bench: "faces-real", metric: `${tag} seeds`, value: seeds, unit: "n" },
    { bench: "faces-real", metric: `${tag} held-out animals`, value: Math.min(held, animals - 1), unit: "n" },
    {
      bench: "faces-real",
      metric: `${tag} reference training time`,
      value: mean("reference training time"),
      unit: "s",
    },
  ];
  const rows: string[][] = [["model", ...FIGURES]];
  for (const model of models) {
    rows.push([model, ...FIGURES.map((k) => `${(mean(`${model} ${k}`) * 100).toFixed(1)}%`)]);
    for (const k of FIGURES) {
      const value = mean(`${model} ${k}`);
      const ref = mean(`reference ${k}`);
      lines.push({
        bench: "faces-real",
        metric: `${tag} ${model} ${k}`,
        value: value * 100,
        unit: "%",
        ...(model === "reference" ? {} : { baseline: ref * 100, ratio: value / (ref || 1) }),
      });
    }
  }
  for (const b of models.filter((m) => m.endsWith(" base")))
    rows.push([
      `${b} / reference`,
      ...FIGURES.map((k) => (mean(`${b} ${k}`) / (mean(`reference ${k}`) || 1)).toFixed(2)),
    ]);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stderr.write(
    `faces-real-ref: the issue's protocol, mean of ${seeds} seed(s)\n${rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ")).join("\n")}\n`,
  );
  return lines;
}

/** `npm run bench -- faces-real-ref`: the issue's protocol alone. */
export const benchFacesRealRef = () => issueReference();
