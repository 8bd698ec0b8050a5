import { beforeAll, describe, expect, it } from "vitest";
import { PRETRAINED_DIR } from "../pipeline/model-dir.ts";
import { ensureRuntime } from "../runtime.ts";
import * as tf from "../tf.ts";
import { directLayers, Embedder, loadEmbedder } from "./embedder.ts";
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

  it("runs every layer it calls directly as predict does (each allowed layer class, bit for bit)", () => {
    const L = tf.layers;
    const net = tf.sequential({
      layers: [
        L.zeroPadding2d({ inputShape: [8, 8, 3], padding: 1 }),
        L.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }),
        L.batchNormalization(),
        L.depthwiseConv2d({ kernelSize: 3, padding: "same" }),
        L.separableConv2d({ filters: 4, kernelSize: 3, padding: "same" }),
        L.maxPooling2d({ poolSize: 2 }),
        L.averagePooling2d({ poolSize: 1 }),
        L.reLU(),
        L.activation({ activation: "tanh" }),
        L.dropout({ rate: 0.5 }),
        L.reshape({ targetShape: [4, 4, 4] }),
        L.globalMaxPooling2d({}),
        L.reshape({ targetShape: [1, 1, 4] }),
        L.globalAveragePooling2d({}),
        L.dense({ units: 6 }),
      ],
    });
    const tiny = new Embedder(net, 8);
    expect(directLayers(net)?.length).toBe(net.layers.length);
    const px = Uint8Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (i * 37) & 255);
    expect(Array.from(tiny.embed(px, 2))).toEqual(Array.from(viaPredict(tiny, px, 2)));
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
