import assert from "node:assert/strict";
import * as tf from "../tf.ts";

type Conv2DAttrs = {
  strides: [number, number] | number;
  pad: "valid" | "same" | number;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
};

interface WasmLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
}

/**
 * dL/dW of a 2-D convolution (NHWC, no dilation), as plain loops over Float32Arrays. The wasm
 * backend ships no Conv2DBackpropFilter, so conv nets cannot train on it as shipped; this fills the
 * gap (its forward conv and input-gradient run in wasm). Loop order keeps the innermost loop over
 * output channels, contiguous in both dy and dW. Checked against the cpu backend in a test.
 */
export function conv2dBackpropFilter(
  x: Float32Array,
  xShape: number[],
  dy: Float32Array,
  attrs: Conv2DAttrs,
): { values: Float32Array; shape: number[] } {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dW = new Float32Array(fh * fw * inChannels * outChannels);
  const xRowStride = inWidth * inChannels;
  const xBatchStride = inHeight * xRowStride;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < fw; wC++) {
            const xC = yC * sw - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = b * xBatchStride + xR * xRowStride + xC * inChannels;
            const wOff = (wR * fw + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = x[xOff + d1]!;
              if (xv === 0) continue;
              const o = wOff + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) dW[o + d2]! += xv * dy[dyOff + d2]!;
            }
          }
        }
      }
    }
  }
  return { values: dW, shape: [...attrs.filterShape] };
}

let registered = false;

/** Registers the missing training kernels on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
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
      const xv = be.readSync(x.dataId) as Float32Array;
      const dyv = be.readSync(dy.dataId) as Float32Array;
      const out = conv2dBackpropFilter(xv, x.shape, dyv, a);
      return be.makeOutput(out.shape, "float32", undefined, out.values);
    },
  });
}
