import assert from "node:assert/strict";
import * as tf from "../tf.ts";
import { registerWasmDepthwiseGrads } from "./wasm-depthwise-grad.ts";

type Conv2DAttrs = {
  strides: [number, number] | number;
  pad: "valid" | "same" | number;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
};

/** What the gradient kernels use of the wasm backend (its tensors' memory). */
export interface WasmLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

function convInfo(xShape: number[], attrs: Conv2DAttrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/**
 * The patches of x under each output position, transposed for dW = cols · dy: row k = (wR, wC, d1)
 * of the filter, column m = (b, yR, yC) of the output; zero where the filter hangs over the padding.
 */
export function im2colT(
  x: Float32Array,
  xShape: number[],
  attrs: Conv2DAttrs,
): { cols: Float32Array; k: number; m: number } {
  const info = convInfo(xShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = batchSize * outHeight * outWidth;
  const k = fh * fw * inChannels;
  const cols = new Float32Array(k * m);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const col = (b * outHeight + yR) * outWidth + yC;
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < fw; wC++) {
            const xC = yC * sw - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const row = (wR * fw + wC) * inChannels;
            for (let d1 = 0; d1 < inChannels; d1++) cols[(row + d1) * m + col] = x[xOff + d1]!;
          }
        }
      }
    }
  }
  return { cols, k, m };
}

/**
 * dL/dW of a 2-D convolution (NHWC, no dilation) as one matrix product: the input's patches
 * (im2colT, in JavaScript) times dy, multiplied by the wasm backend's own BatchMatMul (XNNPACK,
 * SIMD). The wasm backend ships no Conv2DBackpropFilter, so conv nets cannot train on it as
 * shipped; this fills the gap. Checked against the cpu backend in a test.
 */
function backpropFilterWasm(
  be: WasmLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  a: Conv2DAttrs,
): tf.TensorInfo {
  const xv = be.readSync(x.dataId) as Float32Array;
  const { cols, k, m } = im2colT(xv, x.shape, a);
  const cout = a.filterShape[3];
  const colsInfo = be.makeOutput([1, k, m], "float32", undefined, cols);
  const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  const out = matMul({
    inputs: { a: colsInfo, b: { dataId: dy.dataId, shape: [1, m, cout], dtype: "float32" } },
    backend: be as unknown as tf.KernelBackend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
  be.disposeData(colsInfo.dataId);
  return { dataId: out.dataId, shape: [...a.filterShape], dtype: "float32" };
}

let registered = false;

/** Registers the missing training kernels on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  registerWasmDepthwiseGrads();
  if (registered || tf.getKernel("Conv2DBackpropFilter", "wasm")) return;
  registered = true;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmLike;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as Conv2DAttrs;
      // Internal: barnlink's own training graphs are NHWC (tfjs' default); nothing else reaches here.
      assert.ok(a.dataFormat === "NHWC", "Conv2DBackpropFilter on wasm supports NHWC only");
      return backpropFilterWasm(be, x, dy, a);
    },
  });
}
