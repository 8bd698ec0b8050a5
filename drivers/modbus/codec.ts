import { ERR_MODBUS_SHORT } from "../errors.ts";
import type { RegisterSpec } from "./config.ts";

/**
 * Turns raw register words into a number for one register spec. Modbus sends each 16-bit word
 * big-endian (Modbus Application Protocol V1.1b3 §4.2) but says nothing about 32-bit values: the
 * word order and, on some devices, the byte order inside words are the device's choice, so both
 * are configurable.
 */
export function decodeWords(words: readonly number[], spec: RegisterSpec): number {
  if (spec.type === "bool") {
    const w = words[0] ?? 0;
    return spec.bit === undefined ? (w !== 0 ? 1 : 0) : (w >> spec.bit) & 1;
  }
  const n = spec.type === "int16" || spec.type === "uint16" ? 1 : 2;
  if (words.length < n) throw ERR_MODBUS_SHORT(`need ${n} words, got ${words.length}`);
  const ordered = n === 2 && spec.wordOrder === "little" ? [words[1]!, words[0]!] : words.slice(0, n);
  const buf = Buffer.alloc(n * 2);
  ordered.forEach((w, i) => {
    if (spec.byteOrder === "little") buf.writeUInt16LE(w & 0xffff, i * 2);
    else buf.writeUInt16BE(w & 0xffff, i * 2);
  });
  switch (spec.type) {
    case "int16":
      return buf.readInt16BE(0);
    case "uint16":
      return buf.readUInt16BE(0);
    case "int32":
      return buf.readInt32BE(0);
    case "uint32":
      return buf.readUInt32BE(0);
    case "float32":
      return buf.readFloatBE(0);
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
  return spec.type === "float32" ? v : Number(v.toPrecision(12));
}
