import { describe, expect, it } from "vitest";
import { ensureRuntime } from "../runtime.ts";
import * as tf from "../tf.ts";

type Case = { stride: number; pad: "same" | "valid"; mul: number; h: number; w: number };

/** Gradients of a depthwise convolution (as MobileNet uses it, 3×3) for the filter and the input. */
async function grads(backend: "cpu" | "wasm", c: Case): Promise<{ dw: Float32Array; dx: Float32Array }> {
  await ensureRuntime({ prefer: backend });
  return tf.tidy(() => {
    const x = tf.randomNormal([2, c.h, c.w, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, c.mul], 0, 1, "float32", 2) as tf.Tensor4D;
    // a non-uniform dy (the squared output), so a transposed or misplaced index shows
    const f = (xx: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.square(tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad)));
    const [dx, dw] = tf.grads(f)([x, w]);
    return { dw: dw!.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array };
  });
}

describe("depthwise convolution gradients registered for wasm", () => {
  const cases: Case[] = [
    { stride: 1, pad: "same", mul: 1, h: 9, w: 8 },
    { stride: 2, pad: "same", mul: 1, h: 9, w: 8 },
    { stride: 2, pad: "same", mul: 1, h: 10, w: 6 },
    { stride: 2, pad: "valid", mul: 2, h: 9, w: 8 },
    { stride: 1, pad: "valid", mul: 3, h: 7, w: 11 },
  ];
  for (const c of cases) {
    it(`match the cpu backend (stride ${c.stride}, ${c.pad}, multiplier ${c.mul}, ${c.h}×${c.w})`, async () => {
      const cpu = await grads("cpu", c);
      const wasm = await grads("wasm", c);
      expect(tf.getKernel("DepthwiseConv2dNativeBackpropFilter", "wasm")).toBeDefined();
      for (const k of ["dw", "dx"] as const) {
        expect(wasm[k].length).toBe(cpu[k].length);
        const scale = Math.max(...cpu[k].map(Math.abs));
        for (let i = 0; i < cpu[k].length; i++)
          expect(Math.abs(wasm[k][i]! - cpu[k][i]!) / scale).toBeLessThan(1e-4);
      }
    });
  }
});
