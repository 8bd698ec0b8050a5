import * as tf from "../tf.ts";
import { EMBED_DIM } from "./network.ts";
import type { TfliteGraph, TfliteOp } from "./tflite.ts";

export interface MobileNetOptions {
  /** Input height and width (any size: the convolutions are size-free). */
  height: number;
  width: number;
  /**
   * Keep the graph up to the output of the op whose output tensor name starts with this (e.g.
   * "MobilenetV2/expanded_conv_12/add"); default: the whole network, logits and softmax included.
   */
  cutAt?: string;
  /**
   * Inputs are per-image standardised (sd 1) instead of the network's [-1, 1] (sd ≈ 0.5): the first
   * convolution's weights are halved to compensate (it is linear; default true).
   */
  standardised?: boolean;
}

/** The TFLite tensor name up to the first ";" (TFLite joins fused names with ";"). */
const short = (name: string) => name.split(";")[0]!;

function layerFor(op: TfliteOp, g: TfliteGraph, i: number): tf.layers.Layer {
  const name = `mnv2_${i}_${op.op.toLowerCase()}`;
  const act = op.activation === "relu6" ? "relu6" : op.activation === "relu" ? "relu" : "linear";
  const w = g.tensors[op.inputs[1] ?? -1];
  if (op.op === "CONV_2D") {
    const [filters, kh, kw] = w!.shape;
    return tf.layers.conv2d({
      name,
      filters: filters!,
      kernelSize: [kh!, kw!],
      strides: op.strides,
      padding: op.padding,
      activation: act,
    });
  }
  if (op.op === "DEPTHWISE_CONV_2D") {
    const [, kh, kw] = w!.shape;
    return tf.layers.depthwiseConv2d({
      name,
      kernelSize: [kh!, kw!],
      strides: op.strides,
      padding: op.padding,
      depthMultiplier: op.depthMultiplier,
      activation: act,
    });
  }
  if (op.op === "ADD") return tf.layers.add({ name });
  if (op.op === "AVERAGE_POOL_2D")
    return tf.layers.averagePooling2d({ name, poolSize: op.pool, strides: op.strides, padding: op.padding });
  if (op.op === "RESHAPE") return tf.layers.flatten({ name });
  if (op.op === "SOFTMAX") return tf.layers.activation({ name, activation: "softmax" });
  throw new Error(`TFLite op ${op.op} is not mapped to tfjs`);
}

/** TFLite weights as tfjs wants them: conv OHWI → HWIO; depthwise [1, H, W, C·M] → [H, W, C, M]. */
function weightsFor(op: TfliteOp, g: TfliteGraph, first: boolean, halve: boolean): tf.Tensor[] {
  const w = g.tensors[op.inputs[1]!]!;
  const b = g.tensors[op.inputs[2]!]!;
  const bias = tf.tensor1d(b.data!);
  if (op.op === "CONV_2D") {
    const [o, h, wd, i] = w.shape as [number, number, number, number];
    const k = tf.transpose(tf.tensor4d(w.data!, [o, h, wd, i]), [1, 2, 3, 0]);
    return [first && halve ? tf.mul(k, 0.5) : k, bias];
  }
  const [, h, wd, cm] = w.shape as [number, number, number, number];
  const m = op.depthMultiplier ?? 1;
  return [tf.tensor4d(w.data!, [h, wd, cm / m, m]), bias];
}

/**
 * Maps a TFLite MobileNet graph (readTflite) onto a tfjs functional LayersModel with the TFLite
 * weights (batch-norm already folded into them), up to `cutAt`.
 */
export function mobileNetFromTflite(g: TfliteGraph, o: MobileNetOptions): tf.LayersModel {
  const input = tf.input({ shape: [o.height, o.width, 3], name: "face" });
  const sym = new Map<number, tf.SymbolicTensor>([[g.inputs[0]!, input]]);
  const pending: [tf.layers.Layer, tf.Tensor[]][] = [];
  let out: tf.SymbolicTensor | undefined;
  for (const [i, op] of g.ops.entries()) {
    const layer = layerFor(op, g, i);
    const ins = op.op === "ADD" ? op.inputs : op.inputs.slice(0, 1);
    const args = ins.map((t) => {
      const s = sym.get(t);
      if (!s) throw new Error(`TFLite op ${i} (${op.op}) reads tensor ${t}, which no earlier op made`);
      return s;
    });
    out = layer.apply(args.length === 1 ? args[0]! : args) as tf.SymbolicTensor;
    sym.set(op.outputs[0]!, out);
    if (op.op === "CONV_2D" || op.op === "DEPTHWISE_CONV_2D")
      pending.push([layer, weightsFor(op, g, i === 0, o.standardised ?? true)]);
    if (o.cutAt && short(g.tensors[op.outputs[0]!]!.name).startsWith(o.cutAt)) break;
    if (o.cutAt && i === g.ops.length - 1) throw new Error(`no TFLite tensor named ${o.cutAt}*`);
  }
  const model = tf.model({ inputs: input, outputs: out!, name: "mobilenetv2" });
  for (const [layer, ws] of pending) {
    layer.setWeights(ws);
    for (const w of ws) w.dispose();
  }
  return model;
}

/**
 * A face-embedding network on a cut MobileNet: the pretrained blocks, then flatten (keeps where on
 * the face each marking is, as network.ts does) and a dense projection to `dim`; the embedder
 * L2-normalises its output. Trains with embed/train.ts like the small network.
 */
export function mobileNetEmbedder(trunk: tf.LayersModel, dim = EMBED_DIM, pool = false): tf.LayersModel {
  const x = trunk.outputs[0]!;
  const flat = (
    pool
      ? tf.layers.globalAveragePooling2d({ name: "embed_pool" })
      : tf.layers.flatten({ name: "embed_flat" })
  ).apply(x) as tf.SymbolicTensor;
  const e = tf.layers
    .dense({ units: dim, kernelInitializer: "glorotNormal", name: "embed" })
    .apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: trunk.inputs, outputs: e, name: "pigface_mnv2" });
}
