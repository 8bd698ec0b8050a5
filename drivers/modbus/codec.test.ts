import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeWords, scaled } from "./codec.ts";
import type { RegisterSpec } from "./config.ts";

/** The plain forms the fast ones replace (a slice and a Buffer per register, a string per value). */
function plainDecode(all: readonly number[], spec: RegisterSpec, at: number): number {
  const words = all.slice(at);
  if (spec.type === "bool") {
    const w = words[0] ?? 0;
    return spec.bit === undefined ? (w !== 0 ? 1 : 0) : (w >> spec.bit) & 1;
  }
  const n = spec.type === "int16" || spec.type === "uint16" ? 1 : 2;
  if (words.length < n) throw new Error(`need ${n} words, got ${words.length}`);
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
    default:
      return buf.readFloatBE(0);
  }
}
const plainScaled = (raw: number, spec: RegisterSpec) => {
  const v = raw * spec.scale + spec.offset;
  return spec.type === "float32" ? v : Number(v.toPrecision(12));
};

const specArb = fc.record({
  sensor: fc.constant("s"),
  table: fc.constant("holding"),
  address: fc.constant(0),
  type: fc.constantFrom("bool", "int16", "uint16", "int32", "uint32", "float32"),
  wordOrder: fc.constantFrom("big", "little"),
  byteOrder: fc.constantFrom("big", "little"),
  bit: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }),
  scale: fc.oneof(
    fc.constantFrom(1, 0.1, 0.01, 10, -1, 0.001),
    fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
  ),
  offset: fc.oneof(fc.constantFrom(0, -0, -40, 273.15), fc.double({ noNaN: true, min: -1e6, max: 1e6 })),
}) as unknown as fc.Arbitrary<RegisterSpec>;
const wordsArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer(), fc.double()), {
  maxLength: 5,
});

const outcome = (f: () => number) => {
  try {
    return { value: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe("register decoding", () => {
  it("decodes exactly as a slice and a Buffer per register did, at any offset", () => {
    fc.assert(
      fc.property(wordsArb, specArb, fc.integer({ min: 0, max: 6 }), (words, spec, at) => {
        const fast = outcome(() => decodeWords(words, spec, at));
        const plain = outcome(() => plainDecode(words, spec, at));
        if ("error" in plain) expect(fast.error).toContain(plain.error!);
        else
          expect(
            Object.is(fast.value, plain.value) || (Number.isNaN(fast.value) && Number.isNaN(plain.value)),
          ).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("scales exactly as the 12-digit string rounding did", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
          fc.constantFrom(0, -0, 1, 65535),
          fc.double(),
        ),
        specArb,
        (raw, spec) => {
          const a = scaled(raw, spec);
          const b = plainScaled(raw, spec);
          expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
