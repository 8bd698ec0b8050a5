import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ModelCard, sha256File, writeCard } from "./embed/card.ts";
import { Embedder, saveNetwork } from "./embed/embedder.ts";
import { loadImageFolder } from "./embed/image-folder.ts";
import { mobileNetEmbedder, mobileNetFromTflite } from "./embed/mobilenet.ts";
import { subsetClasses } from "./embed/subset.ts";
import { readTflite } from "./embed/tflite.ts";
import { trainEmbedder } from "./embed/train.ts";
import { evaluateEmbeddings } from "./eval/metrics.ts";
import { ensureRuntime } from "./runtime.ts";
import { generateDataset } from "./synth/dataset.ts";

export interface MobileNetTrainOptions {
  /** The ImageNet MobileNetV2 .tflite (Google's, Apache-2.0). */
  tflite: string;
  out: string;
  /** Square input side (the pipeline's crops are square, stretched to fill). */
  size?: number;
  /** Last MobileNet tensor kept (default the output of block 12, 96 channels at 1/16 of the input). */
  cutAt?: string;
  /** Layers with weights kept as ImageNet has them (3 per block; default 18: blocks 0–5). */
  freeze?: number;
  views?: number;
  pigs?: number;
  perPig?: number;
  epochs?: number;
  lr?: number;
  margin?: number;
  scale?: number;
  budgetMinutes?: number;
  version?: string;
}

/**
 * An experiment, not the shipped model: the ImageNet MobileNetV2 cut at a block, with a flatten +
 * dense embedding head, fine-tuned with CosFace on synthetic pig faces (seed 11, as
 * train-pretrained.ts) with its first `freeze` weighted layers frozen. Writes a model directory
 * that `model adapt --base` and `npm run bench -- faces-real` (FACES_REAL_CANDIDATE) take.
 * Run: npx tsx models/train-mobilenet.ts TFLITE OUT [epochs] [freeze] [budgetMinutes]
 */
export async function trainMobileNet(o: MobileNetTrainOptions): Promise<string> {
  const rt = await ensureRuntime({ prefer: "wasm" });
  const size = o.size ?? 96;
  const pigs = o.pigs ?? 200;
  const perPig = o.perPig ?? 10;
  const work = join(tmpdir(), `barnlink-mnv2-${process.pid}`);
  const data = join(work, "data");
  await generateDataset({ dir: data, pigs, perPig, seed: 11, size: 128 });
  const set = await loadImageFolder(data, { size });
  rmSync(work, { recursive: true, force: true });
  const nVal = Math.round(pigs * 0.1);
  const valIdx = Array.from({ length: nVal }, (_, i) => Math.floor(((i + 0.5) * pigs) / nVal));
  const train = subsetClasses(
    set,
    set.labels.map((_, i) => i).filter((i) => !valIdx.includes(i)),
  );
  const valSet = subsetClasses(set, valIdx);
  const trunk = mobileNetFromTflite(readTflite(readFileSync(o.tflite)), {
    height: size,
    width: size,
    cutAt: o.cutAt ?? "MobilenetV2/expanded_conv_12/add",
  });
  const net = mobileNetEmbedder(trunk);
  const epochs = o.epochs ?? 6;
  const freeze = o.freeze ?? 18;
  const lr = o.lr ?? 1e-3;
  const validation: number[] = [];
  const res = trainEmbedder(train, {
    epochs,
    lr,
    margin: o.margin ?? 0.4,
    scale: o.scale ?? 24,
    init: net,
    freeze,
    views: o.views ?? 3,
    budgetMs: o.budgetMinutes !== undefined ? o.budgetMinutes * 60_000 : undefined,
    onStep: (p) => {
      if (p.step % 10 === 0)
        process.stderr.write(`epoch ${p.epoch + 1} step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)}\n`);
    },
    onEpoch: (p) => {
      const e = new Embedder(p.net, size).embedMany(valSet.pixels, valSet.y.length);
      const m = evaluateEmbeddings(e, 64, valSet.y, valSet.labels, { galleryPerPig: 3 });
      validation.push(m.rank1);
      process.stderr.write(
        `epoch ${p.epoch + 1}: loss ${p.loss.toFixed(3)}, held-out rank-1 ${(m.rank1 * 100).toFixed(1)}%\n`,
      );
    },
  });
  const emb = new Embedder(res.net, size);
  const metrics = evaluateEmbeddings(
    emb.embedMany(valSet.pixels, valSet.y.length),
    emb.dim,
    valSet.y,
    valSet.labels,
    { galleryPerPig: 3 },
  );
  const version = o.version ?? "pigface-mnv2-synth-1";
  const dir = resolve(join(o.out, version));
  mkdirSync(dir, { recursive: true });
  const files = await saveNetwork(res.net, dir);
  const card: ModelCard = {
    name: "pigface",
    version,
    createdAt: new Date().toISOString(),
    backend: rt.backend,
    input: { size, channels: 3, normalisation: "per-image standardisation" },
    embeddingDim: emb.dim,
    data: {
      dir: `synthetic: generateDataset({ pigs: ${pigs}, perPig: ${perPig}, seed: 11 })`,
      classes: pigs,
      images: set.y.length,
      trainClasses: train.labels.length,
      validationClasses: nVal,
      skipped: set.skipped.length,
    },
    training: {
      epochs,
      batch: 32,
      lr,
      ms: Math.round(res.ms),
      losses: res.losses,
      validationRank1: validation,
      augment: "strong",
      initFrom: "mobilenet_v2_1.0_224_quant.tflite (ImageNet, Apache-2.0)",
      freeze,
      views: res.views,
      stopped: res.stopped,
      epochsRun: res.epochsRun,
      cacheMs: res.cacheMs !== undefined ? Math.round(res.cacheMs) : undefined,
      budgetMinutes: o.budgetMinutes,
    },
    metrics: { ...metrics, on: "held-out pigs" },
    threshold: metrics.threshold,
    files: Object.fromEntries(files.map((f) => [f, sha256File(join(dir, f))])),
  };
  writeCard(dir, card);
  emb.dispose();
  return dir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [tflite, out, e, f, b, s] = process.argv.slice(2);
  const n = (x: string | undefined) => (x ? Number(x) : undefined);
  const dir = await trainMobileNet({
    tflite: tflite!,
    out: out!,
    epochs: n(e),
    freeze: n(f),
    budgetMinutes: n(b),
    size: n(s),
  });
  process.stderr.write(`${dir}\n`);
}
