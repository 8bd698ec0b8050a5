import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../core/canonical.ts";
import { isPlainBlock } from "../kinds.ts";
import { canonicalPlainBlock } from "./canonical-block.ts";
import { canonicalItems } from "./canonical-items.ts";

const plain = (b: unknown) => (isPlainBlock(b) ? canonicalJson(b) : undefined);

const nameArb = fc.oneof(
  fc.constantFrom(
    "r0",
    "r1",
    "r2",
    "r10",
    "0",
    "1",
    "10",
    "2",
    "a",
    "B",
    "é",
    "__proto__",
    "",
    "x".repeat(65),
  ),
  fc.string({ minLength: 1, maxLength: 6 }),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }),
);
const numberish = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 1e21, 5e-324, Number.NaN, Infinity),
  fc.string({ maxLength: 3 }),
);
const blockArb = fc.record(
  {
    values: fc.oneof(
      fc.dictionary(nameArb, fc.double({ noNaN: true, noDefaultInfinity: true }), {
        minKeys: 1,
        maxKeys: 12,
      }),
      fc.dictionary(nameArb, numberish, { maxKeys: 6 }),
      fc.anything(),
    ),
    units: fc.oneof(
      fc.dictionary(nameArb, fc.string({ unit: "grapheme", maxLength: 16 }), { maxKeys: 6 }),
      fc.dictionary(nameArb, fc.oneof(fc.string({ maxLength: 17 }), fc.integer()), { maxKeys: 3 }),
      fc.anything(),
    ),
    quality: fc.oneof(fc.constantFrom("ok", "suspect", "bad", undefined), fc.string({ maxLength: 3 })),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe("canonicalPlainBlock", () => {
  it("equals isPlainBlock(b) ? canonicalJson(b) : undefined, call after call (its name order cache)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(blockArb, fc.anything()), { maxLength: 12 }), (bodies) => {
        for (const b of bodies) expect(canonicalPlainBlock(b)).toBe(plain(b));
      }),
      { numRuns: 2000 },
    );
  });

  it("takes the same names in another order, or one more, after a cached set", () => {
    const a = { values: { r1: 1, r0: 2, r10: 3 } };
    const b = { values: { r0: 2, r10: 3, r1: 1 } };
    const c = { values: { r0: 2, r10: 3, r1: 1, r2: -0 }, units: { r2: "°C", r0: "%" }, quality: "ok" };
    for (const x of [a, b, a, c, b, c]) expect(canonicalPlainBlock(x)).toBe(canonicalJson(x));
  });

  it("gives canonicalItems the same texts as the plain path, validating or not", () => {
    const t = { wall: 1, boot: "b", mono: 1, synced: true };
    fc.assert(
      fc.property(fc.array(blockArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (bodies, validate) => {
        const items = bodies.filter(isPlainBlock).map((body) => ({ stream: "s", kind: "block", body, t }));
        expect(canonicalItems(items, validate)).toEqual(items.map((it) => canonicalJson(it.body)));
      }),
    );
  });
});
