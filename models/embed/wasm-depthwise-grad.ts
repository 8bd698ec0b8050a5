import assert from "node:assert/strict";
import * as tf from "../tf.ts";
import type { WasmLike } from "./wasm-grad.ts";

type DepthwiseAttrs = {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: "valid" | "same" | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
};

const one = (d: [number, number] | number) => (typeof d === "number" ? d === 1 : d[0] === 1 && d[1] === 1);

/** The geometry of a depthwise convolution (NHWC, filter [fh, fw, inChannels, multiplier]). */
function geometry(xShape: number[], filterShape: number[], a: DepthwiseAttrs) {
  // Internal: MobileNet-style graphs use no dilation; a dilated one would need its own loops.
  assert.ok(one(a.dilations), "depthwise gradients on wasm support dilation 1 only");
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
    true,
  );
  return { ...info, chMul: info.outChannels / info.inChannels };
}

type Geometry = ReturnType<typeof geometry>;

/**
 * Visits every (input pixel, filter tap, output pixel) triple of the convolution: the one loop
 * nest both gradients share. `f(xOff, wOff, yOff)` gets the offsets of the pixel's first channel in
 * x, of the tap's first channel in the filter, and of the output pixel's first channel in dy.
 */
function eachTap(g: Geometry, f: (xOff: number, wOff: number, yOff: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, outChannels } = g;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = g;
  const top = g.padInfo.top;
  const left = g.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const yOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < fh; wR++) {
          const xR = yR * sh - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < fw; wC++) {
            const xC = yC * sw - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            f(((b * inHeight + xR) * inWidth + xC) * c, (wR * fw + wC) * outChannels, yOff);
          }
        }
      }
    }
  }
}

/** dL/dW: each tap's weight (per channel and multiplier) summed over x under it times dy. */
export function depthwiseFilterGrad(
  x: Float32Array,
  xShape: number[],
  dy: Float32Array,
  filterShape: number[],
  a: DepthwiseAttrs,
): Float32Array {
  const g = geometry(xShape, filterShape, a);
  const { inChannels: c, chMul } = g;
  const dw = new Float32Array(filterShape.reduce((p, q) => p * q, 1));
  eachTap(g, (xOff, wOff, yOff) => {
    for (let d1 = 0; d1 < c; d1++) {
      const xv = x[xOff + d1]!;
      const o = d1 * chMul;
      for (let dm = 0; dm < chMul; dm++) dw[wOff + o + dm]! += xv * dy[yOff + o + dm]!;
    }
  });
  return dw;
}

/** dL/dx: dy scattered back through each tap's weights (the transposed convolution). */
export function depthwiseInputGrad(
  dy: Float32Array,
  w: Float32Array,
  filterShape: number[],
  inputShape: number[],
  a: DepthwiseAttrs,
): Float32Array {
  const g = geometry(inputShape, filterShape, a);
  const { inChannels: c, chMul } = g;
  const dx = new Float32Array(inputShape.reduce((p, q) => p * q, 1));
  eachTap(g, (xOff, wOff, yOff) => {
    for (let d1 = 0; d1 < c; d1++) {
      const o = d1 * chMul;
      let s = 0;
      for (let dm = 0; dm < chMul; dm++) s += dy[yOff + o + dm]! * w[wOff + o + dm]!;
      dx[xOff + d1]! += s;
    }
  });
  return dx;
}

/**
 * Registers DepthwiseConv2dNativeBackpropFilter and …BackpropInput on the wasm backend, which
 * ships neither, so a network with depthwise convolutions (MobileNet) cannot train there as shipped.
 * Plain loops over the data the backend holds, the cpu backend's arithmetic (checked against it in
 * wasm-depthwise-grad.test.ts). Idempotent.
 */
export function registerWasmDepthwiseGrads(): void {
  if (!tf.getKernel("DepthwiseConv2dNativeBackpropFilter", "wasm")) {
    tf.registerKernel({
      kernelName: "DepthwiseConv2dNativeBackpropFilter",
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const be = backend as unknown as WasmLike;
        const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
        const a = attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
        const dw = depthwiseFilterGrad(
          be.readSync(x.dataId) as Float32Array,
          x.shape,
          be.readSync(dy.dataId) as Float32Array,
          a.filterShape,
          a,
        );
        return be.makeOutput([...a.filterShape], "float32", undefined, dw);
      },
    });
  }
  if (!tf.getKernel("DepthwiseConv2dNativeBackpropInput", "wasm")) {
    tf.registerKernel({
      kernelName: "DepthwiseConv2dNativeBackpropInput",
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const be = backend as unknown as WasmLike;
        const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
        const a = attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
        const dx = depthwiseInputGrad(
          be.readSync(dy.dataId) as Float32Array,
          be.readSync(filter.dataId) as Float32Array,
          filter.shape,
          a.inputShape,
          a,
        );
        return be.makeOutput([...a.inputShape], "float32", undefined, dx);
      },
    });
  }
}
