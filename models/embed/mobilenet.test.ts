import { describe, expect, it } from "vitest";
import { ensureRuntime } from "../runtime.ts";
import * as tf from "../tf.ts";
import { mobileNetEmbedder, mobileNetFromTflite } from "./mobilenet.ts";
import type { TfliteGraph } from "./tflite.ts";
import { trainEmbedder } from "./train.ts";

const rand = (n: number, seed: number) =>
  tf.randomNormal([n], 0, 0.5, "float32", seed).dataSync() as Float32Array;

/**
 * A MobileNetV2-shaped graph as readTflite returns it, weights in TFLite's layouts (conv OHWI,
 * depthwise [1, H, W, C]): a strided 3×3 conv, then a 1×1 expand, a 3×3 depthwise and a 1×1
 * project, added to the block's input (a residual).
 */
function tinyGraph(): TfliteGraph {
  const t = (name: string, shape: number[], data?: Float32Array) => ({ name, shape, type: "float32", data });
  const tensors = [
    t("input", [1, 8, 6, 3]),
    t("c0/w", [4, 3, 3, 3], rand(108, 1)),
    t("c0/b", [4], rand(4, 2)),
    t("c0/out", [1, 4, 3, 4]),
    t("ex/w", [8, 1, 1, 4], rand(32, 3)),
    t("ex/b", [8], rand(8, 4)),
    t("ex/out", [1, 4, 3, 8]),
    t("dw/w", [1, 3, 3, 8], rand(72, 5)),
    t("dw/b", [8], rand(8, 6)),
    t("dw/out", [1, 4, 3, 8]),
    t("pr/w", [4, 1, 1, 8], rand(32, 7)),
    t("pr/b", [4], rand(4, 8)),
    t("pr/out", [1, 4, 3, 4]),
    t("block/add", [1, 4, 3, 4]),
  ];
  const conv = (i: number, o: number, s: number, activation: "relu6" | "linear") => ({
    op: "CONV_2D",
    inputs: [i, i + 1, i + 2].map((k, j) => (j === 0 ? k - 1 - (i === 1 ? 0 : 0) : k)),
    outputs: [o],
    padding: "same" as const,
    strides: [s, s] as [number, number],
    activation,
  });
  return {
    tensors,
    inputs: [0],
    outputs: [13],
    ops: [
      { ...conv(1, 3, 2, "relu6"), inputs: [0, 1, 2] },
      { ...conv(4, 6, 1, "relu6"), inputs: [3, 4, 5] },
      {
        op: "DEPTHWISE_CONV_2D",
        inputs: [6, 7, 8],
        outputs: [9],
        padding: "same",
        strides: [1, 1],
        depthMultiplier: 1,
        activation: "relu6",
      },
      { ...conv(10, 12, 1, "linear"), inputs: [9, 10, 11] },
      { op: "ADD", inputs: [12, 3], outputs: [13], activation: "linear" },
    ],
  };
}

/** The same block written with tf ops straight from the TFLite layouts. */
function reference(g: TfliteGraph, x: tf.Tensor4D): tf.Tensor {
  const w = (i: number) => g.tensors[i]!;
  const k = (i: number) => {
    const [o, h, wd, c] = w(i).shape as [number, number, number, number];
    return tf.transpose(tf.tensor4d(w(i).data!, [o, h, wd, c]), [1, 2, 3, 0]) as tf.Tensor4D;
  };
  const b = (i: number) => tf.tensor1d(w(i).data!);
  const relu6 = (t: tf.Tensor) => tf.clipByValue(t, 0, 6);
  const c0 = relu6(tf.add(tf.conv2d(x, k(1), 2, "same"), b(2))) as tf.Tensor4D;
  const ex = relu6(tf.add(tf.conv2d(c0, k(4), 1, "same"), b(5))) as tf.Tensor4D;
  const dwk = tf.tensor4d(w(7).data!, [3, 3, 8, 1]);
  const dw = relu6(tf.add(tf.depthwiseConv2d(ex, dwk, 1, "same"), b(8))) as tf.Tensor4D;
  const pr = tf.add(tf.conv2d(dw, k(10), 1, "same"), b(11));
  return tf.add(pr, c0);
}

describe("TFLite MobileNet graph → tfjs layers", () => {
  it("computes what the TFLite graph says (weight layouts, padding, activations, the residual)", async () => {
    await ensureRuntime({ prefer: "wasm" });
    const g = tinyGraph();
    const net = mobileNetFromTflite(g, { height: 8, width: 6, standardised: false });
    const x = tf.randomNormal([2, 8, 6, 3], 0, 1, "float32", 9) as tf.Tensor4D;
    const got = (net.predict(x) as tf.Tensor).dataSync();
    const want = reference(g, x).dataSync();
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    // inputs standardised (sd 1, not the [-1, 1] range): the first convolution sees x / 2
    const half = mobileNetFromTflite(g, { height: 8, width: 6 });
    const h = (half.predict(x) as tf.Tensor).dataSync();
    const wantHalf = reference(g, tf.mul(x, 0.5) as tf.Tensor4D).dataSync();
    for (let i = 0; i < wantHalf.length; i++) expect(h[i]).toBeCloseTo(wantHalf[i]!, 4);
  });

  it("cuts at a named tensor", async () => {
    await ensureRuntime({ prefer: "wasm" });
    const net = mobileNetFromTflite(tinyGraph(), { height: 8, width: 6, cutAt: "ex/out" });
    expect(net.outputs[0]!.shape).toEqual([null, 4, 3, 8]);
    expect(() => mobileNetFromTflite(tinyGraph(), { height: 8, width: 6, cutAt: "nope" })).toThrow(/nope/);
  });

  it("trains on wasm with frozen early layers; a cut across the residual is refused", async () => {
    await ensureRuntime({ prefer: "wasm" });
    const net = mobileNetEmbedder(mobileNetFromTflite(tinyGraph(), { height: 8, width: 8 }), 8);
    const n = 24;
    const y = Int32Array.from({ length: n }, (_, i) => i % 4);
    const pixels = new Uint8Array(n * 8 * 8 * 3).map(
      (_, i) => (y[Math.floor(i / 192)]! * 60 + (i % 7) * 5) & 255,
    );
    const set = { labels: ["a", "b", "c", "d"], y, pixels, files: [], size: 8, skipped: [] };
    const before = net.getWeights().map((w) => w.dataSync().slice());
    // freeze 1: the first conv; its output feeds both the block and the residual (one tensor: clean)
    const r = trainEmbedder(set, { epochs: 2, batch: 8, dim: 8, init: net, freeze: 1, views: 2 });
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const after = net.getWeights().map((w) => w.dataSync());
    expect(after[0]).toEqual(before[0]); // frozen
    expect(after.at(-2)).not.toEqual(before.at(-2)); // the projection trained
    // freeze 2: inside the block, where the expand's output and the residual both cross the cut
    expect(() => trainEmbedder(set, { epochs: 1, batch: 8, dim: 8, init: net, freeze: 2 })).toThrow(
      /residual/,
    );
  });
});
