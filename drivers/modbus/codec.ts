import { ERR_MODBUS_SHORT } from "../errors.ts";
import type { RegisterSpec } from "./config.ts";

/** Four bytes reused by every 32-bit decode (decoding is synchronous). */
const scratch = Buffer.alloc(4);

/**
 * Turns raw register words (from index `at`) into a number for one register spec. Modbus sends each
 * 16-bit word big-endian (Modbus Application Protocol V1.1b3 §4.2) but says nothing about 32-bit
 * values: the word order and, on some devices, the byte order inside words are the device's
 * choice, so both are configurable. 16-bit values are decoded with integer operations, 32-bit ones
 * in a reused buffer: no slice or Buffer per register (issue #15; codec.test.ts checks it against
 * the Buffer-per-call form).
 */
export function decodeWords(words: readonly number[], spec: RegisterSpec, at = 0): number {
  const left = Math.max(0, words.length - at);
  if (spec.type === "bool") {
    const w = left > 0 ? (words[at] ?? 0) : 0;
    return spec.bit === undefined ? (w !== 0 ? 1 : 0) : (w >> spec.bit) & 1;
  }
  const n = spec.type === "int16" || spec.type === "uint16" ? 1 : 2;
  if (left < n) throw ERR_MODBUS_SHORT(`need ${n} words, got ${left}`);
  const little = spec.byteOrder === "little";
  if (n === 1) {
    const w = words[at]! & 0xffff;
    const u = little ? ((w & 0xff) << 8) | (w >> 8) : w;
    return spec.type === "int16" ? (u << 16) >> 16 : u;
  }
  const [hi, lo] = spec.wordOrder === "little" ? [words[at + 1]!, words[at]!] : [words[at]!, words[at + 1]!];
  if (little) {
    scratch.writeUInt16LE(hi & 0xffff, 0);
    scratch.writeUInt16LE(lo & 0xffff, 2);
  } else {
    scratch.writeUInt16BE(hi & 0xffff, 0);
    scratch.writeUInt16BE(lo & 0xffff, 2);
  }
  switch (spec.type) {
    case "int32":
      return scratch.readInt32BE(0);
    case "uint32":
      return scratch.readUInt32BE(0);
    default:
      return scratch.readFloatBE(0);
  }
}

/** The inverse of decodeWords for the raw value (before scale): used by simulators and tests. */
export function encodeWords(
  raw: number,
  spec: Pick<RegisterSpec, "type" | "wordOrder" | "byteOrder">,
): number[] {
  if (spec.type === "bool") return [raw ? 1 : 0];
  const n = spec.type === "int16" || spec.type === "uint16" ? 1 : 2;
  const buf = Buffer.alloc(n * 2);
  if (spec.type === "int16") buf.writeInt16BE(raw, 0);
  else if (spec.type === "uint16") buf.writeUInt16BE(raw, 0);
  else if (spec.type === "int32") buf.writeInt32BE(raw, 0);
  else if (spec.type === "uint32") buf.writeUInt32BE(raw, 0);
  else buf.writeFloatBE(raw, 0);
  const words: number[] = [];
  for (let i = 0; i < n; i++)
    words.push(spec.byteOrder === "little" ? buf.readUInt16LE(i * 2) : buf.readUInt16BE(i * 2));
  return n === 2 && spec.wordOrder === "little" ? [words[1]!, words[0]!] : words;
}

/** Applies scale and offset; rounds away float noise from the scale (0.1 × 231 = 23.1, not 23.100000000000001). */
export function scaled(raw: number, spec: RegisterSpec): number {
  const v = raw * spec.scale + spec.offset;
  if (spec.type === "float32") return v;
  // A whole number of at most 12 digits is its own 12-digit rounding (-0 rounds to 0): no string.
  if (Number.isInteger(v) && v < 1e12 && v > -1e12) return v === 0 ? 0 : v;
  return Number(v.toPrecision(12));
}
