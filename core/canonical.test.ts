import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical.ts";

/** canonicalJson as it was written first (map, filter, join): the hashes and signatures in use. */
function reference(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new Error("non-finite");
      return JSON.stringify(value);
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(reference).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(",")}}`;
    }
    default:
      throw new Error(typeof value);
  }
}

const outcome = (f: (v: unknown) => string, v: unknown) => {
  try {
    return { text: f(v) };
  } catch {
    return { threw: true };
  }
};

describe("canonicalJson", () => {
  it("writes exactly what the map/join form wrote, and throws where it threw", () => {
    const strings = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.constantFrom('"', "\\", "\u2028", "\ud800"),
    );
    const values = fc.oneof(
      fc.anything({ key: strings, withNullPrototype: true, withSparseArray: true, withObjectString: true }),
      fc.jsonValue(),
      fc.dictionary(
        strings,
        fc.oneof(fc.double(), fc.integer(), fc.constant(-0), strings, fc.constant(undefined)),
      ),
    );
    fc.assert(
      fc.property(values, (v) => {
        expect(outcome(canonicalJson, v)).toEqual(outcome(reference, v));
      }),
      { numRuns: 20_000 },
    );
  });

  it("sorts keys by UTF-16 code units and leaves undefined members out", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], é: -0, Z: undefined, 'a"b': 1.5e-7 })).toBe(
      '{"a":[true,null,"x"],"a\\"b":1.5e-7,"b":1,"é":0}',
    );
  });
});
