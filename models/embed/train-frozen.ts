import { ERR_MODEL_DATA } from "../errors.ts";
import type { Rng } from "../synth/rng.ts";
import * as tf from "../tf.ts";
import { type AugmentOptions, augment } from "./augment.ts";
import { standardise } from "./preprocess.ts";

/**
 * The frozen front of a network and what it saw: each training frame passed once through the first
 * `freeze` layers, clean (view 0) and in `views − 1` augmented versions, kept as activations. Training
 * the rest then never runs (nor differentiates) those layers again, which is most of the cost of a
 * step: for the 4-convolution face network, freezing 3 leaves ~15% of the forward work per frame and
 * none of the expensive gradients (the input-side convolutions, the largest Conv2DBackpropFilter).
 */
export interface FrozenFeatures {
  /** The layers that train (and their variables): the ones after the frozen front. */
  head: tf.layers.Layer[];
  vars: tf.Variable[];
  /** Activation shape per frame (without the batch axis) and its length. */
  shape: number[];
  per: number;
  views: number;
  /** views × n × per activations: view v of frame i at (v * n + i) * per. */
  data: Float32Array;
  /** Clean activations of other frames (the stop probes), n' × per. */
  extra?: Float32Array;
}

/** Largest activation cache kept in memory; more views than fit are dropped (with `views` saying so). */
export const MAX_CACHE_BYTES = 1.5 * 1024 ** 3;

/** The symbolic tensors a layer reads (its first inbound node: barnlink's networks apply each layer once). */
const inputsOf = (l: tf.layers.Layer): tf.SymbolicTensor[] => l.inboundNodes[0]?.inputTensors ?? [];
const outputOf = (l: tf.layers.Layer): tf.SymbolicTensor => l.output as tf.SymbolicTensor;
const isInput = (l: tf.layers.Layer) => l.getClassName() === "InputLayer";

/**
 * Splits the layers before the `freeze`-th layer with weights from the rest. The cut must be clean:
 * the rest reads exactly one tensor the front makes (always so for a chain; for a graph with
 * residual additions, a cut between blocks), so one activation per frame is all the cache holds.
 */
function frontOf(
  net: tf.LayersModel,
  freeze: number,
): { front: tf.layers.Layer[]; head: tf.layers.Layer[]; cut: tf.SymbolicTensor } {
  const layers = net.layers;
  const withWeights = layers.filter((l) => l.getWeights().length > 0);
  if (!Number.isInteger(freeze) || freeze < 0 || freeze >= withWeights.length) {
    throw ERR_MODEL_DATA(
      `freeze must be 0..${withWeights.length - 1} (the network has ${withWeights.length} layers with weights), got ${freeze}`,
    );
  }
  const at = layers.indexOf(withWeights[freeze]!);
  const front = layers.slice(0, at);
  const head = layers.slice(at);
  const made = new Set(head.map((l) => outputOf(l).id));
  const reads = [
    ...new Map(
      head
        .flatMap(inputsOf)
        .filter((t) => !made.has(t.id))
        .map((t) => [t.id, t]),
    ).values(),
  ];
  if (reads.length !== 1) {
    throw ERR_MODEL_DATA(
      `freeze ${freeze} cuts the network where ${reads.length} tensors cross (a residual connection): pick a cut between blocks`,
    );
  }
  return { front, head, cut: reads[0]! };
}

/**
 * Runs layers in the model's (topological) order on a concrete tensor fed where the layers read
 * from outside themselves (a clean cut, frontOf); returns `out`'s value, else the last layer's.
 */
export function runLayers(
  layers: tf.layers.Layer[],
  x: tf.Tensor,
  training: boolean,
  out?: tf.SymbolicTensor,
): tf.Tensor {
  const vals = new Map<number, tf.Tensor>();
  let t = x;
  for (const l of layers) {
    if (isInput(l)) {
      vals.set(outputOf(l).id, x);
      continue;
    }
    const args = inputsOf(l).map((s) => vals.get(s.id) ?? x);
    t = l.apply(args.length === 1 ? args[0]! : args, { training }) as tf.Tensor;
    vals.set(outputOf(l).id, t);
  }
  return out ? (vals.get(out.id) ?? t) : t;
}

function passFront(
  front: tf.layers.Layer[],
  cut: tf.SymbolicTensor,
  x: Float32Array,
  k: number,
  size: number,
  out: Float32Array,
  at: number,
): void {
  const a = tf.tidy(() =>
    runLayers(front, tf.tensor4d(x.subarray(0, k * size * size * 3), [k, size, size, 3]), false, cut),
  );
  out.set(a.dataSync() as Float32Array, at);
  a.dispose();
}

/**
 * Passes the set (and the stop probes, clean) through the first `freeze` weighted layers of `net`
 * once. `views` includes the clean view; the others use `aug`. Only the head's variables train.
 */
export function cacheFrozen(
  net: tf.LayersModel,
  freeze: number,
  set: { pixels: Uint8Array; n: number; size: number },
  views: number,
  r: Rng,
  aug: AugmentOptions,
  extra?: { pixels: Uint8Array; n: number },
): FrozenFeatures {
  const { front, head, cut } = frontOf(net, freeze);
  const shape = cut.shape.slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const fit = Math.max(1, Math.floor(MAX_CACHE_BYTES / (4 * per * Math.max(1, set.n))));
  const v = Math.max(1, Math.min(views, fit));
  const data = new Float32Array(v * set.n * per);
  const px = set.size * set.size * 3;
  const batch = 64;
  const xb = new Float32Array(batch * px);
  for (let view = 0; view < v; view++) {
    for (let i = 0; i < set.n; i += batch) {
      const k = Math.min(batch, set.n - i);
      for (let j = 0; j < k; j++) {
        const src = set.pixels.subarray((i + j) * px, (i + j + 1) * px);
        if (view === 0) standardise(src, xb, j * px);
        else augment(src, set.size, r, xb, j * px, aug);
      }
      passFront(front, cut, xb, k, set.size, data, (view * set.n + i) * per);
    }
  }
  let extraData: Float32Array | undefined;
  if (extra && extra.n > 0) {
    extraData = new Float32Array(extra.n * per);
    for (let i = 0; i < extra.n; i += batch) {
      const k = Math.min(batch, extra.n - i);
      for (let j = 0; j < k; j++)
        standardise(extra.pixels.subarray((i + j) * px, (i + j + 1) * px), xb, j * px);
      passFront(front, cut, xb, k, set.size, extraData, i * per);
    }
  }
  const vars = head.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  return { head, vars, shape, per, views: v, data, extra: extraData };
}
