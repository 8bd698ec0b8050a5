import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "../core/log.ts";
import { lightAugment, strongAugment } from "./embed/augment.ts";
import { type ModelCard, sha256File, writeCard } from "./embed/card.ts";
import { Embedder, loadEmbedder, saveNetwork } from "./embed/embedder.ts";
import { loadImageFolder, type SkippedImage } from "./embed/image-folder.ts";
import { subsetClasses } from "./embed/subset.ts";
import { trainEmbedder } from "./embed/train.ts";
import { ERR_MODEL_DATA } from "./errors.ts";
import { evaluateEmbeddings } from "./eval/metrics.ts";
import { ProgressBar } from "./progress.ts";
import { ensureRuntime } from "./runtime.ts";

export interface ModelTrainOptions {
  /** Labelled photos: DIR/<pigId>/*.jpg (any animal's faces). */
  data: string;
  /** Parent directory; the model goes to OUT/<version>/. */
  out: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  /** CosFace margin and scale (defaults 0.3 and 16). */
  margin?: number;
  scale?: number;
  seed?: number;
  /** Fine-tune from this model directory. */
  init?: string;
  /** Share of animals held out of training for validation and threshold calibration. */
  validation?: number;
  /** Embedding size of a new network (default 64; ignored with `init`). */
  dim?: number;
  /** "strong" (default: zoom, rotation, crop jitter, grey/infrared) or "light" (shift and gain only). */
  augment?: "strong" | "light";
  /** Enrolment shots per validation animal for the card's figures (default 3). */
  shots?: number;
  version?: string;
  progress?: boolean;
  log?: Logger;
}

export interface ModelTrainResult {
  dir: string;
  version: string;
  card: ModelCard;
  skipped: SkippedImage[];
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

/**
 * `barnlink model train`: trains (or fine-tunes) the embedding on a labelled folder, holding some
 * animals out to measure open-set accuracy and calibrate the rejection threshold, then writes a
 * versioned model directory (model.json, weights.bin, card.json, card.md) in one rename.
 */
export async function modelTrain(o: ModelTrainOptions): Promise<ModelTrainResult> {
  const rt = await ensureRuntime({ log: o.log });
  const show = o.progress ?? true;
  const loadBar = new ProgressBar("load ", 1, process.stderr, show);
  if (!existsSync(o.data)) throw ERR_MODEL_DATA(`no such folder: ${o.data}`);
  const set = await loadImageFolder(o.data, {
    onProgress: (d, t) => {
      loadBar.total = t;
      loadBar.update(d);
    },
  });
  const classes = set.labels.length;
  const nVal = classes >= 10 ? Math.max(3, Math.round(classes * (o.validation ?? 0.2))) : 0;
  const valIdx = Array.from({ length: nVal }, (_, i) => Math.floor(((i + 0.5) * classes) / nVal));
  const valSet = new Set(valIdx);
  const trainIdx = set.labels.map((_, i) => i).filter((i) => !valSet.has(i));
  const train = nVal > 0 ? subsetClasses(set, trainIdx) : set;
  const epochs = o.epochs ?? 15;
  const batch = o.batch ?? 32;
  const lr = o.lr ?? 2e-3;
  const init = o.init ? await loadEmbedder(o.init) : undefined;
  const bar = new ProgressBar(
    "train",
    epochs * Math.ceil(train.y.length / Math.min(batch, train.y.length)),
    process.stderr,
    show,
  );
  let steps = 0;
  const t0 = Date.now();
  const evalSet = nVal > 0 ? subsetClasses(set, valIdx) : set;
  const evalOpts = { seed: o.seed, galleryPerPig: o.shots };
  const validation: number[] = [];
  let lastVal = "";
  const res = trainEmbedder(train, {
    epochs,
    batch,
    lr,
    dim: o.dim,
    margin: o.margin,
    scale: o.scale,
    seed: o.seed,
    init: init?.net,
    augment: o.augment === "light" ? lightAugment : strongAugment,
    onStep: (p) => bar.update(++steps, `epoch ${p.epoch + 1}/${epochs} loss ${p.loss.toFixed(3)}${lastVal}`),
    onEpoch: (p) => {
      // a validation figure per epoch: rank-1 on the held-out animals' late frames
      const e = new Embedder(p.net, set.size).embedMany(evalSet.pixels, evalSet.y.length);
      const m = evaluateEmbeddings(
        e,
        p.net.outputs[0]!.shape[1] as number,
        evalSet.y,
        evalSet.labels,
        evalOpts,
      );
      validation.push(m.rank1);
      const left = ((Date.now() - t0) / (p.epoch + 1)) * (epochs - p.epoch - 1);
      lastVal = ` · val rank-1 ${(m.rank1 * 100).toFixed(1)}%`;
      o.log?.info(
        { epoch: p.epoch + 1, loss: p.loss, valRank1: m.rank1, etaS: Math.round(left / 1000) },
        "epoch done",
      );
      if (!show) return;
      process.stderr.write(
        `epoch ${p.epoch + 1}/${epochs}: loss ${p.loss.toFixed(3)}, validation rank-1 ${(m.rank1 * 100).toFixed(1)}% (${nVal > 0 ? "held-out animals" : "training animals"}), about ${Math.round(left / 1000)} s left\n`,
      );
    },
  });
  const emb = new Embedder(res.net, set.size);
  const e = emb.embedMany(evalSet.pixels, evalSet.y.length);
  const metrics = evaluateEmbeddings(e, emb.dim, evalSet.y, evalSet.labels, evalOpts);
  const version = o.version ?? `pigface-${stamp()}`;
  const dir = resolve(join(o.out, version));
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files = await saveNetwork(res.net, tmp);
  const card: ModelCard = {
    name: "pigface",
    version,
    createdAt: new Date().toISOString(),
    backend: rt.backend,
    input: { size: set.size, channels: 3, normalisation: "per-image standardisation" },
    embeddingDim: emb.dim,
    data: {
      dir: resolve(o.data),
      classes,
      images: set.y.length,
      trainClasses: train.labels.length,
      validationClasses: nVal,
      skipped: set.skipped.length,
    },
    training: {
      epochs,
      batch,
      lr,
      ms: Math.round(res.ms),
      losses: res.losses,
      validationRank1: validation,
      augment: o.augment ?? "strong",
      initFrom: init?.version,
    },
    metrics: { ...metrics, on: nVal > 0 ? "held-out pigs" : "training pigs" },
    threshold: metrics.threshold,
    files: Object.fromEntries(files.map((f) => [f, sha256File(join(tmp, f))])),
  };
  writeCard(tmp, card);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  emb.dispose();
  return { dir, version, card, skipped: set.skipped };
}
