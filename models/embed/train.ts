import { ERR_MODEL_DATA } from "../errors.ts";
import { rng } from "../synth/rng.ts";
import * as tf from "../tf.ts";
import { type AugmentOptions, augment, strongAugment } from "./augment.ts";
import { EarlyStopper, type StopProbes, stopScore } from "./early-stop.ts";
import { Embedder } from "./embedder.ts";
import type { FaceSet } from "./image-folder.ts";
import { buildNetwork, EMBED_DIM, l2normalise } from "./network.ts";
import { cacheFrozen, runLayers } from "./train-frozen.ts";

export interface TrainOptions {
  epochs: number;
  batch?: number;
  lr?: number;
  dim?: number;
  /** CosFace additive cosine margin and scale: pulls each class together, pushes classes apart. */
  margin?: number;
  scale?: number;
  seed?: number;
  /** Fine-tune this network instead of starting from random weights. */
  init?: tf.LayersModel;
  /** Augmentation strength (default strongAugment). */
  augment?: AugmentOptions;
  /**
   * Keep the first `freeze` layers with weights (the early convolutions) as they are and train the
   * rest on their activations, computed once per frame and view (default 0: train everything, with
   * fresh augmentation every step). Meant for fine-tuning (`init`).
   */
  freeze?: number;
  /** With `freeze`: versions of each frame cached, the clean one included (default 4). */
  views?: number;
  /** Stop at the first step after this much training time (ms); the result says so. */
  budgetMs?: number;
  /**
   * Early stopping: after each epoch the stop probes (frames not trained on, labelled over the
   * training classes) are matched to the class centroids of the clean training frames; training
   * stops after `patience` epochs without a better figure, not before `minEpochs`, and keeps the
   * best epoch's weights.
   */
  stop?: { probes: StopProbes; patience: number; minEpochs?: number };
  onStep?: (p: { epoch: number; step: number; steps: number; loss: number }) => void;
  /** After each epoch (a validation figure, a time estimate); `net` is the network being trained. */
  onEpoch?: (p: { epoch: number; loss: number; net: tf.LayersModel; stopRank1?: number }) => void;
}

export interface TrainResult {
  net: tf.LayersModel;
  losses: number[];
  ms: number;
  images: number;
  classes: number;
  /** Why training ended: all epochs run, early stopping, or the time budget. */
  stopped: "epochs" | "early" | "budget";
  /** Epochs started (the last one may be partial when the budget stopped it). */
  epochsRun: number;
  /** With `stop`: the stop probes' rank-1 per epoch, and the epoch (0-based) whose weights were kept. */
  stopRank1?: number[];
  bestEpoch?: number;
  /** With `freeze`: the views cached per frame (fewer than asked when memory would not hold them). */
  views?: number;
  /** Time spent computing the frozen layers' activations (ms), included in `ms`. */
  cacheMs?: number;
}

/**
 * Metric learning with a normalised-softmax head and an additive cosine margin (CosFace): the
 * embedding and the class centres are unit vectors, so training shapes exactly the cosine the
 * gallery later matches with. The head is thrown away; only the embedding network is kept, so the
 * model works on pigs it never saw in training (open set).
 */
export function trainEmbedder(set: FaceSet, o: TrainOptions): TrainResult {
  const n = set.y.length;
  const classes = set.labels.length;
  if (classes < 2 || n < 2 * classes) {
    throw ERR_MODEL_DATA(`need at least 2 classes with 2+ images each; got ${classes} classes, ${n} images`);
  }
  const t0 = performance.now();
  const batch = Math.min(o.batch ?? 32, n);
  const dim = o.dim ?? EMBED_DIM;
  const s = o.scale ?? 16;
  const m = o.margin ?? 0.3;
  const r = rng(o.seed ?? 1);
  const net = o.init ?? buildNetwork(dim, set.size);
  const aug = o.augment ?? strongAugment;
  const px = set.size * set.size * 3;
  const probes = o.stop && o.stop.probes.y.length > 0 ? o.stop.probes : undefined;
  const freeze = o.freeze ?? 0;
  const frozen =
    freeze > 0
      ? cacheFrozen(
          net,
          freeze,
          { pixels: set.pixels, n, size: set.size },
          o.views ?? 4,
          r,
          aug,
          probes && {
            pixels: probes.pixels,
            n: probes.y.length,
          },
        )
      : undefined;
  const cacheMs = frozen ? performance.now() - t0 : undefined;
  const per = frozen ? frozen.per : px;
  const shape = frozen ? frozen.shape : [set.size, set.size, 3];
  const xb = new Float32Array(batch * per);
  /** Fills xb with the batch's inputs: fresh augmentations, or one cached view of each frame. */
  const fill = (idx: number[]) => {
    for (const [k, im] of idx.entries()) {
      if (!frozen) augment(set.pixels.subarray(im * px, (im + 1) * px), set.size, r, xb, k * per, aug);
      else {
        const v = Math.floor(r() * frozen.views);
        xb.set(frozen.data.subarray((v * n + im) * per, (v * n + im + 1) * per), k * per);
      }
    }
  };
  const forward = (x: tf.Tensor, training: boolean) =>
    (frozen ? runLayers(frozen.head, x, training) : net.apply(x, { training })) as tf.Tensor2D;
  /** Clean embeddings of the training frames and of the stop probes (for early stopping). */
  const embedClean = (): { g: Float32Array; p: Float32Array } => {
    if (!frozen) {
      const e = new Embedder(net, set.size);
      return { g: e.embedMany(set.pixels, n), p: e.embedMany(probes!.pixels, probes!.y.length) };
    }
    const run = (data: Float32Array, count: number) => {
      const out = new Float32Array(count * dim);
      for (let i = 0; i < count; i += 256) {
        const k = Math.min(256, count - i);
        const e = tf.tidy(() =>
          l2normalise(forward(tf.tensor(data.subarray(i * per, (i + k) * per), [k, ...shape]), false)),
        );
        out.set(e.dataSync() as Float32Array, i * dim);
        e.dispose();
      }
      return out;
    };
    return { g: run(frozen.data, n), p: run(frozen.extra!, probes!.y.length) };
  };
  const centres = tf.variable(tf.randomNormal([dim, classes], 0, 1, "float32", o.seed ?? 1), true, "centres");
  const vars = frozen ? [...frozen.vars, centres] : undefined;
  const stopper = probes
    ? new EarlyStopper(
        frozen ? frozen.vars : net.trainableWeights.map((w) => w.read() as tf.Variable),
        o.stop!.patience,
      )
    : undefined;
  const lr0 = o.lr ?? 2e-3;
  const opt = tf.train.adam(lr0);
  const steps = Math.ceil(n / batch);
  const total = steps * o.epochs;
  const losses: number[] = [];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let stopped: TrainResult["stopped"] = "epochs";
  let epochsRun = 0;
  for (let epoch = 0; epoch < o.epochs && stopped === "epochs"; epoch++) {
    epochsRun++;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let sum = 0;
    let done = 0;
    for (let step = 0; step < steps; step++) {
      const idx = Array.from({ length: batch }, (_, k) => order[(step * batch + k) % n]!);
      fill(idx);
      // cosine decay: large steps first, then settle
      const at = (epoch * steps + step) / total;
      (opt as unknown as { learningRate: number }).learningRate =
        lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * at)));
      const loss = tf.tidy(() => {
        const x = tf.tensor(xb, [batch, ...shape]);
        const y = tf.oneHot(
          tf.tensor1d(
            idx.map((im) => set.y[im]!),
            "int32",
          ),
          classes,
        );
        return opt.minimize(
          () => {
            const e = l2normalise(forward(x, true));
            const unitCentres = tf.div(centres, tf.add(tf.norm(centres, "euclidean", 0, true), 1e-8));
            const cos = tf.matMul(e, unitCentres);
            const logits = tf.mul(tf.sub(cos, tf.mul(y, m)), s);
            return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
          },
          true,
          vars,
        )!;
      });
      const v = loss.dataSync()[0]!;
      loss.dispose();
      sum += v;
      done++;
      o.onStep?.({ epoch, step, steps, loss: v });
      if (o.budgetMs !== undefined && performance.now() - t0 >= o.budgetMs) {
        stopped = "budget";
        break;
      }
    }
    losses.push(sum / done);
    let stopRank1: number | undefined;
    if (stopper && stopped === "epochs") {
      const { g, p } = embedClean();
      const sc = stopScore(g, set.y, p, probes!.y, classes, dim);
      stopRank1 = sc.rank1;
      if (stopper.update(epoch, sc) && epoch + 1 >= (o.stop!.minEpochs ?? 0) && epoch < o.epochs - 1)
        stopped = "early";
    }
    o.onEpoch?.({ epoch, loss: sum / done, net, stopRank1 });
  }
  const bestEpoch = stopper?.restore();
  centres.dispose();
  opt.dispose();
  return {
    net,
    losses,
    ms: performance.now() - t0,
    images: n,
    classes,
    stopped,
    epochsRun,
    stopRank1: stopper?.scores.map((x) => x.rank1),
    bestEpoch,
    views: frozen?.views,
    cacheMs,
  };
}
