import { ERR_MODEL_DATA } from "../errors.ts";
import { rng } from "../synth/rng.ts";
import * as tf from "../tf.ts";
import { type AugmentOptions, augment, strongAugment } from "./augment.ts";
import type { FaceSet } from "./image-folder.ts";
import { buildNetwork, EMBED_DIM, l2normalise } from "./network.ts";

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
  onStep?: (p: { epoch: number; step: number; steps: number; loss: number }) => void;
  /** After each epoch (a validation figure, a time estimate); `net` is the network being trained. */
  onEpoch?: (p: { epoch: number; loss: number; net: tf.LayersModel }) => void;
}

export interface TrainResult {
  net: tf.LayersModel;
  losses: number[];
  ms: number;
  images: number;
  classes: number;
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
  const centres = tf.variable(tf.randomNormal([dim, classes], 0, 1, "float32", o.seed ?? 1), true, "centres");
  const lr0 = o.lr ?? 2e-3;
  const opt = tf.train.adam(lr0);
  const per = set.size * set.size * 3;
  const steps = Math.ceil(n / batch);
  const total = steps * o.epochs;
  const losses: number[] = [];
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xb = new Float32Array(batch * per);
  const aug = o.augment ?? strongAugment;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let sum = 0;
    for (let step = 0; step < steps; step++) {
      const idx = Array.from({ length: batch }, (_, k) => order[(step * batch + k) % n]!);
      for (const [k, im] of idx.entries())
        augment(set.pixels.subarray(im * per, (im + 1) * per), set.size, r, xb, k * per, aug);
      // cosine decay: large steps first, then settle
      const done = (epoch * steps + step) / total;
      (opt as unknown as { learningRate: number }).learningRate =
        lr0 * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * done)));
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(xb, [batch, set.size, set.size, 3]);
        const y = tf.oneHot(
          tf.tensor1d(
            idx.map((im) => set.y[im]!),
            "int32",
          ),
          classes,
        );
        return opt.minimize(() => {
          const e = l2normalise(net.apply(x, { training: true }) as tf.Tensor2D);
          const unitCentres = tf.div(centres, tf.add(tf.norm(centres, "euclidean", 0, true), 1e-8));
          const cos = tf.matMul(e, unitCentres);
          const logits = tf.mul(tf.sub(cos, tf.mul(y, m)), s);
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        }, true)!;
      });
      const v = loss.dataSync()[0]!;
      loss.dispose();
      sum += v;
      o.onStep?.({ epoch, step, steps, loss: v });
    }
    losses.push(sum / steps);
    o.onEpoch?.({ epoch, loss: sum / steps, net });
  }
  centres.dispose();
  opt.dispose();
  return { net, losses, ms: performance.now() - t0, images: n, classes };
}
