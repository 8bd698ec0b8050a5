/**
 * A reader for the TFLite flatbuffer (schema.fbs of TensorFlow Lite, the tables and fields a
 * quantised MobileNet uses), with no TFLite runtime: the graph as plain data, weights dequantised
 * to float32. tfjs has no TFLite loader; mobilenet.ts maps this graph onto tfjs layers.
 * Field numbers below are those of tensorflow/lite/schema/schema.fbs.
 */

/** One table of a flatbuffer: fields read by their number in the schema. */
class Table {
  constructor(
    private readonly v: DataView,
    readonly at: number,
  ) {}

  private field(i: number): number {
    const vt = this.at - this.v.getInt32(this.at, true);
    const vtSize = this.v.getUint16(vt, true);
    const o = 4 + 2 * i < vtSize ? this.v.getUint16(vt + 4 + 2 * i, true) : 0;
    return o === 0 ? 0 : this.at + o;
  }
  private ref(i: number): number {
    const p = this.field(i);
    return p === 0 ? 0 : p + this.v.getUint32(p, true);
  }
  int(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === 0 ? dflt : this.v.getInt32(p, true);
  }
  byte(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === 0 ? dflt : this.v.getInt8(p);
  }
  table(i: number): Table | undefined {
    const p = this.ref(i);
    return p === 0 ? undefined : new Table(this.v, p);
  }
  string(i: number): string {
    const p = this.ref(i);
    if (p === 0) return "";
    const n = this.v.getUint32(p, true);
    return new TextDecoder().decode(new Uint8Array(this.v.buffer, this.v.byteOffset + p + 4, n));
  }
  /** A vector's start and length (elements follow the length). */
  private vec(i: number): [number, number] {
    const p = this.ref(i);
    return p === 0 ? [0, 0] : [p + 4, this.v.getUint32(p, true)];
  }
  ints(i: number): number[] {
    const [s, n] = this.vec(i);
    return Array.from({ length: n }, (_, k) => this.v.getInt32(s + 4 * k, true));
  }
  floats(i: number): number[] {
    const [s, n] = this.vec(i);
    return Array.from({ length: n }, (_, k) => this.v.getFloat32(s + 4 * k, true));
  }
  longs(i: number): number[] {
    const [s, n] = this.vec(i);
    return Array.from({ length: n }, (_, k) => Number(this.v.getBigInt64(s + 8 * k, true)));
  }
  bytes(i: number): Uint8Array {
    const [s, n] = this.vec(i);
    return new Uint8Array(this.v.buffer, this.v.byteOffset + s, n);
  }
  tables(i: number): Table[] {
    const [s, n] = this.vec(i);
    return Array.from({ length: n }, (_, k) => {
      const p = s + 4 * k;
      return new Table(this.v, p + this.v.getUint32(p, true));
    });
  }
}

/** BuiltinOperator codes the reader names (others keep their number). */
const OPS: Record<number, string> = {
  0: "ADD",
  1: "AVERAGE_POOL_2D",
  3: "CONV_2D",
  4: "DEPTHWISE_CONV_2D",
  6: "DEQUANTIZE",
  22: "RESHAPE",
  25: "SOFTMAX",
  114: "QUANTIZE",
};
/** ActivationFunctionType. */
const ACTIVATIONS = ["linear", "relu", "relu_n1_to_1", "relu6", "tanh", "sign_bit"] as const;
/** TensorType codes whose data the reader dequantises. */
const TYPES: Record<number, string> = { 0: "float32", 2: "int32", 3: "uint8", 9: "int8" };

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: string;
  /** Dequantised values (real = scale · (q − zeroPoint)); undefined for activations. */
  data?: Float32Array;
  scale?: number;
  zeroPoint?: number;
}

export interface TfliteOp {
  op: string;
  inputs: number[];
  outputs: number[];
  padding?: "same" | "valid";
  strides?: [number, number];
  pool?: [number, number];
  depthMultiplier?: number;
  activation?: (typeof ACTIVATIONS)[number];
}

export interface TfliteGraph {
  tensors: TfliteTensor[];
  ops: TfliteOp[];
  inputs: number[];
  outputs: number[];
}

function dequantise(raw: Uint8Array, type: string, scale: number, zp: number): Float32Array {
  const b = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
  if (type === "float32") return new Float32Array(b);
  const q = type === "int32" ? new Int32Array(b) : type === "int8" ? new Int8Array(b) : new Uint8Array(b);
  return Float32Array.from(q, (x) => scale * (x - zp));
}

/** Reads a .tflite file's first subgraph. Throws on a file that is not TFLite. */
export function readTflite(file: Uint8Array): TfliteGraph {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const ident = new TextDecoder().decode(file.subarray(4, 8));
  if (ident !== "TFL3") throw new Error(`not a TFLite flatbuffer (identifier "${ident}")`);
  const model = new Table(v, v.getUint32(0, true));
  const codes = model.tables(1).map((c) => Math.max(c.byte(0), c.int(3)));
  const buffers = model.tables(4);
  const sub = model.tables(2)[0]!;
  const tensors = sub.tables(0).map((t): TfliteTensor => {
    const type = TYPES[t.byte(1)] ?? `type${t.byte(1)}`;
    const q = t.table(4);
    const scale = q?.floats(2)[0];
    const zeroPoint = q?.longs(3)[0] ?? 0;
    const raw = buffers[t.int(2)]?.bytes(0);
    return {
      name: t.string(3),
      shape: t.ints(0),
      type,
      scale,
      zeroPoint,
      data: raw && raw.length > 0 ? dequantise(raw, type, scale ?? 1, zeroPoint) : undefined,
    };
  });
  const ops = sub.tables(3).map((o): TfliteOp => {
    const op = OPS[codes[o.int(0)]!] ?? `op${codes[o.int(0)]}`;
    const opt = o.table(4);
    const base: TfliteOp = { op, inputs: o.ints(1), outputs: o.ints(2) };
    if (!opt) return base;
    const padding = opt.byte(0) === 1 ? "valid" : "same";
    // Conv2DOptions: padding, stride_w, stride_h, activation; Depthwise: …, depth_multiplier, activation;
    // Pool2DOptions: padding, stride_w, stride_h, filter_width, filter_height, activation; AddOptions: activation
    if (op === "CONV_2D")
      return {
        ...base,
        padding,
        strides: [opt.int(2, 1), opt.int(1, 1)],
        activation: ACTIVATIONS[opt.byte(3)],
      };
    if (op === "DEPTHWISE_CONV_2D")
      return {
        ...base,
        padding,
        strides: [opt.int(2, 1), opt.int(1, 1)],
        depthMultiplier: opt.int(3, 1),
        activation: ACTIVATIONS[opt.byte(4)],
      };
    if (op === "AVERAGE_POOL_2D")
      return {
        ...base,
        padding,
        strides: [opt.int(2, 1), opt.int(1, 1)],
        pool: [opt.int(4), opt.int(3)],
        activation: ACTIVATIONS[opt.byte(5)],
      };
    if (op === "ADD") return { ...base, activation: ACTIVATIONS[opt.byte(0)] };
    return base;
  });
  return { tensors, ops, inputs: sub.ints(1), outputs: sub.ints(2) };
}
