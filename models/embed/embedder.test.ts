import { beforeAll, describe, expect, it } from "vitest";
import { PRETRAINED_DIR } from "../pipeline/model-dir.ts";
import { ensureRuntime } from "../runtime.ts";
import * as tf from "../tf.ts";
import { directLayers, type Embedder, loadEmbedder } from "./embedder.ts";
import { l2normalise } from "./network.ts";
import { standardise } from "./preprocess.ts";

let emb: Embedder;
beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  emb = await loadEmbedder(PRETRAINED_DIR);
});

/** What embed() computed before the layers were called directly: predict, then the L2 norm. */
function viaPredict(e: Embedder, pixels: Uint8Array, n: number): Float32Array {
  const per = e.size * e.size * 3;
  const x = new Float32Array(n * per);
  for (let i = 0; i < n; i++) standardise(pixels.subarray(i * per, (i + 1) * per), x, i * per);
  return tf
    .tidy(() => l2normalise(e.net.predict(tf.tensor4d(x, [n, e.size, e.size, 3])) as tf.Tensor2D))
    .dataSync() as Float32Array;
}

describe("Embedder", () => {
  it("runs the shipped network layer by layer, bit for bit what predict gives", () => {
    expect(directLayers(emb.net)?.length).toBe(emb.net.layers.length);
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    for (const n of [1, 3]) {
      const px = Uint8Array.from({ length: n * emb.size * emb.size * 3 }, rnd);
      const direct = emb.embed(px, n);
      expect(direct.length).toBe(n * emb.dim);
      expect(Array.from(direct)).toEqual(Array.from(viaPredict(emb, px, n)));
    }
  });

  it("keeps predict for a network that is not a plain stack", () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor;
    const functional = tf.model({
      inputs: input,
      outputs: tf.layers.add().apply([a, b]) as tf.SymbolicTensor,
    });
    expect(directLayers(functional)).toBeUndefined();
    const odd = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 2 }), tf.layers.gaussianNoise({ stddev: 1 })],
    });
    expect(directLayers(odd)).toBeUndefined();
  });
});
