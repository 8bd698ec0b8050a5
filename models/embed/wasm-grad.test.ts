import { describe, expect, it } from "vitest";
import { ensureRuntime } from "../runtime.ts";
import * as tf from "../tf.ts";

async function filterGrad(
  backend: "cpu" | "wasm",
  stride: number,
  pad: "same" | "valid",
): Promise<Float32Array> {
  await ensureRuntime({ prefer: backend });
  return tf.tidy(() => {
    const x = tf.randomNormal([2, 9, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 5], 0, 1, "float32", 2) as tf.Tensor4D;
    const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ww as tf.Tensor4D, stride, pad))))(w);
    return g.dataSync() as Float32Array;
  });
}

describe("Conv2DBackpropFilter registered for wasm", () => {
  for (const [stride, pad] of [
    [1, "same"],
    [2, "same"],
    [2, "valid"],
  ] as const) {
    it(`matches the cpu backend (stride ${stride}, ${pad})`, async () => {
      const cpu = await filterGrad("cpu", stride, pad);
      const wasm = await filterGrad("wasm", stride, pad);
      expect(wasm.length).toBe(cpu.length);
      for (let i = 0; i < cpu.length; i++) expect(wasm[i]).toBeCloseTo(cpu[i]!, 2);
    });
  }
});
