import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "../core/log.ts";
import { type ModelCard, readCard, sha256File, writeCard } from "./embed/card.ts";
import { type Embedder, loadEmbedder, saveNetwork } from "./embed/embedder.ts";
import { type FaceSet, loadImageFolder, type SkippedImage } from "./embed/image-folder.ts";
import { subsetImages } from "./embed/subset.ts";
import { trainEmbedder } from "./embed/train.ts";
import { ERR_MODEL_DATA, ERR_MODEL_WORSE } from "./errors.ts";
import { type EvalMetrics, evaluateEmbeddings } from "./eval/metrics.ts";
import { resolveModelDir } from "./pipeline/model-dir.ts";
import { ProgressBar } from "./progress.ts";
import { ensureRuntime } from "./runtime.ts";

export interface AdaptOptions {
  /** The herd's labelled frames: DIR/<pigId>/*.jpg, frames in file-name (time) order. */
  herd: string | FaceSet;
  /** Where the adapted model goes: OUT/<version>/. */
  out: string;
  /** Model to adapt (default: the shipped base model). */
  base?: string;
  /** Model in use on the farm to beat (default: `base`). */
  current?: string;
  /** Share of each pig's frames, the last ones (other visits), held out for validation (default 1/3). */
  holdout?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  margin?: number;
  scale?: number;
  seed?: number;
  /**
   * Early convolutions kept as the base has them (default 2 of the 4): their activations are computed
   * once per frame and view, and only the last two convolutions and the projection train. 0: fine-tune
   * everything with fresh augmentation every step (the slow path, several times the time). Freezing 3
   * is faster still but lost 5–8 points of 3-shot rank-1 on real faces in one run.
   */
  freeze?: number;
  /** With `freeze`: versions of each frame cached, the clean one included (default 4). */
  views?: number;
  /**
   * Early stopping: each pig's last training frame is held out of training as a stop probe; training
   * stops after this many epochs without a better stop figure (never before half the epochs: the
   * learning rate is still high then) and keeps the best epoch (default 3; 0: run every epoch, no
   * stop probes).
   */
  patience?: number;
  /** Training time budget (minutes): training stops at the first step past it; the card says so. */
  budgetMinutes?: number;
  /** Enrolment shots per pig for the validation figures (default 5). */
  shots?: number;
  version?: string;
  progress?: boolean;
  /** Write the model even if it does not beat the current one (for experiments; never for publishing). */
  force?: boolean;
  /** Called after each training step (the cloud's adapt job reports it as the job's progress). */
  onProgress?: (p: AdaptProgress) => void;
  log?: Logger;
}

export interface AdaptProgress {
  step: number;
  steps: number;
  epoch: number;
  epochs: number;
  loss: number;
  /** Estimated training time left, from the mean step time so far. */
  etaMs: number;
}

export interface AdaptResult {
  dir: string;
  version: string;
  card: ModelCard & { herd: { adapted: EvalMetrics; current: EvalMetrics; currentModel: string } };
  skipped: SkippedImage[];
  ms: number;
}

/**
 * Splits each pig's frames (in time order): the early ones to train on, the last `holdout` share to
 * validate. With `stopProbes`, the last training frame of each pig with 3+ of them is set apart
 * (`stop`) for early stopping: never trained on, never one of the validation frames.
 */
export function splitHerd(
  set: FaceSet,
  holdout: number,
  stopProbes = false,
): { train: number[]; stop: number[]; all: number[] } {
  const byPig = set.labels.map(() => [] as number[]);
  for (let i = 0; i < set.y.length; i++) byPig[set.y[i]!]!.push(i);
  const train: number[] = [];
  const stop: number[] = [];
  for (const imgs of byPig) {
    const nVal = imgs.length >= 2 ? Math.max(1, Math.floor(imgs.length * holdout)) : 0;
    const early = imgs.slice(0, imgs.length - nVal);
    if (stopProbes && early.length >= 3) stop.push(early.pop()!);
    train.push(...early);
  }
  return { train, stop, all: byPig.flat() };
}

/** Herd validation: shots from a pig's training frames, probes its held-out late frames, no unknown animal. */
function herdMetrics(emb: Embedder, set: FaceSet, holdout: number, shots: number, seed: number): EvalMetrics {
  const v = emb.embedMany(set.pixels, set.y.length);
  return evaluateEmbeddings(v, emb.dim, set.y, set.labels, {
    galleryPerPig: shots,
    unknown: [],
    enrolShare: 1 - holdout,
    probeShare: holdout / 2,
    poolCalibrates: false,
    seed,
  });
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

/**
 * Herd adaptation: fine-tunes the base model on this herd's labelled frames (the herd is known: its
 * pigs are the classes, CosFace with augmentation), validates on each pig's held-out late frames
 * (enrolment shots from early frames; the first half of the held-out frames calibrates the
 * threshold, the second half are probes), and writes a model with a card holding those figures and
 * the current model's on the same split. Refuses (BL_MODEL_WORSE) a model that identifies fewer of
 * the herd's late frames than the current one: a farm never gets a worse model.
 */
export async function adaptModel(o: AdaptOptions): Promise<AdaptResult> {
  const rt = await ensureRuntime({ log: o.log });
  const t0 = performance.now();
  const baseDir = resolveModelDir(o.base);
  const base = await loadEmbedder(baseDir);
  const show = o.progress ?? true;
  if (typeof o.herd === "string" && !existsSync(o.herd)) throw ERR_MODEL_DATA(`no such folder: ${o.herd}`);
  const set = typeof o.herd === "string" ? await loadImageFolder(o.herd, { size: base.size }) : o.herd;
  if (set.labels.length < 2) throw ERR_MODEL_DATA(`herd needs at least 2 pigs, found ${set.labels.length}`);
  const holdout = o.holdout ?? 1 / 3;
  const seed = o.seed ?? 1;
  const shots = o.shots ?? 5;
  const patience = o.patience ?? 3;
  const freeze = o.freeze ?? 2;
  const { train, stop } = splitHerd(set, holdout, patience > 0);
  const pigs = set.labels.map((_, i) => i);
  const trainSet = subsetImages(set, train, pigs);
  const stopSet = subsetImages(set, stop, pigs);
  const currentDir = o.current ? resolveModelDir(o.current) : baseDir;
  const current = currentDir === baseDir ? base : await loadEmbedder(currentDir);
  const before = herdMetrics(current, set, holdout, shots, seed);
  const currentVersion = current.version;
  if (current !== base) current.dispose();
  const epochs = o.epochs ?? 20;
  const batch = o.batch ?? 32;
  const lr = o.lr ?? 1e-3;
  const steps = epochs * Math.ceil(trainSet.y.length / Math.min(batch, trainSet.y.length));
  const bar = new ProgressBar("adapt", steps, process.stderr, show);
  let step = 0;
  const tTrain = performance.now();
  const res = trainEmbedder(trainSet, {
    epochs,
    batch,
    lr,
    margin: o.margin,
    scale: o.scale,
    seed,
    init: base.net,
    freeze,
    views: o.views,
    budgetMs: o.budgetMinutes !== undefined ? o.budgetMinutes * 60_000 : undefined,
    stop: stop.length > 0 ? { probes: stopSet, patience, minEpochs: Math.ceil(epochs / 2) } : undefined,
    onStep: (p) => {
      bar.update(++step, `epoch ${p.epoch + 1}/${epochs} loss ${p.loss.toFixed(3)}`);
      let etaMs = ((performance.now() - tTrain) / step) * (steps - step);
      if (o.budgetMinutes !== undefined)
        etaMs = Math.max(0, Math.min(etaMs, o.budgetMinutes * 60_000 - (performance.now() - tTrain)));
      o.onProgress?.({ step, steps, epoch: p.epoch + 1, epochs, loss: p.loss, etaMs: Math.round(etaMs) });
    },
  });
  const after = herdMetrics(base, set, holdout, shots, seed); // base.net was trained in place
  o.log?.info({ before, after, ms: Math.round(res.ms) }, "herd adaptation validated");
  if (!o.force && after.identificationRate < before.identificationRate) {
    base.dispose();
    throw ERR_MODEL_WORSE(
      `adapted model identifies ${(after.identificationRate * 100).toFixed(1)}% of the herd's late frames, the current ${currentVersion} ${(before.identificationRate * 100).toFixed(1)}%: not written`,
      { adapted: after, current: before },
    );
  }
  const version = o.version ?? `pigface-herd-${stamp()}`;
  const dir = resolve(join(o.out, version));
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files = await saveNetwork(res.net, tmp);
  const baseCard = readCard(baseDir);
  const card = {
    name: "pigface" as const,
    version,
    createdAt: new Date().toISOString(),
    backend: rt.backend,
    input: { size: set.size, channels: 3 as const, normalisation: "per-image standardisation" as const },
    embeddingDim: base.dim,
    data: {
      dir: typeof o.herd === "string" ? resolve(o.herd) : "in memory",
      classes: set.labels.length,
      images: set.y.length,
      trainClasses: set.labels.length,
      validationClasses: 0,
      skipped: set.skipped.length,
    },
    training: {
      epochs,
      batch,
      lr,
      ms: Math.round(res.ms),
      losses: res.losses,
      initFrom: baseCard?.version ?? base.version,
      freeze,
      views: res.views,
      stopped: res.stopped,
      epochsRun: res.epochsRun,
      bestEpoch: res.bestEpoch !== undefined ? res.bestEpoch + 1 : undefined,
      stopRank1: res.stopRank1,
      stopProbes: stop.length,
      cacheMs: res.cacheMs !== undefined ? Math.round(res.cacheMs) : undefined,
      budgetMinutes: o.budgetMinutes,
    },
    metrics: { ...after, on: "herd late frames" as const },
    threshold: after.threshold,
    files: Object.fromEntries(files.map((f) => [f, sha256File(join(tmp, f))])),
    herd: { adapted: after, current: before, currentModel: currentVersion },
  };
  writeCard(tmp, card);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  base.dispose();
  return { dir, version, card, skipped: set.skipped, ms: performance.now() - t0 };
}
