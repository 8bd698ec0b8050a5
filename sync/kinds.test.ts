import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../core/canonical.ts";
import { canonicalTime, link, linkFromColumns, linkFromParts } from "./chain.ts";
import { bodyIssue, canonicalBody, canonicalReading, isPlainBlock, isPlainReading, kinds } from "./kinds.ts";

const zodAccepts = (b: unknown) => kinds.reading.schema.safeParse(b).success;

// Readings near the edges (lengths 16/17, non-finite numbers, extra and undefined keys) and anything.
const readingLike = fc.record(
  {
    value: fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -0), fc.string()),
    unit: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: "grapheme", maxLength: 17 }),
      fc.integer(),
    ),
    quality: fc.oneof(fc.constantFrom("ok", "suspect", "bad", undefined, null), fc.string()),
    extra: fc.anything(),
    __proto__: fc.anything(),
  },
  { requiredKeys: [] },
);
const anyBody = fc.oneof(readingLike, fc.anything(), fc.jsonValue());

describe("the reading fast path", () => {
  it("accepts only what zod accepts, and canonicalises exactly like canonicalJson", () => {
    fc.assert(
      fc.property(anyBody, (b) => {
        if (isPlainReading(b)) {
          expect(zodAccepts(b)).toBe(true);
          expect(canonicalReading(b)).toBe(canonicalJson(b));
        }
        expect(bodyIssue("reading", b) === null).toBe(zodAccepts(b));
        if (zodAccepts(b)) expect(canonicalBody("reading", b)).toBe(canonicalJson(b));
      }),
      { numRuns: 20_000 },
    );
  });

  it("takes every ordinary reading (plain objects zod accepts)", () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            value: fc.double({ noNaN: true, noDefaultInfinity: true }),
            unit: fc.string({ maxLength: 16 }),
            quality: fc.constantFrom("ok", "suspect"),
          },
          { requiredKeys: ["value", "unit"] },
        ),
        (b) => {
          expect(zodAccepts(b)).toBe(true);
          expect(isPlainReading(b)).toBe(true);
        },
      ),
    );
  });

  it("rejects through zod, with zod's message", () => {
    expect(bodyIssue("reading", { value: 1, unit: "x".repeat(17) })).toMatch(/^reading body unit:/);
    expect(bodyIssue("reading", { value: Infinity, unit: "C" })).toMatch(/^reading body value:/);
    expect(bodyIssue("nope", {})).toBe("unknown record kind 'nope'");
    // zod counts inherited enumerable keys too: the fast path leaves such objects to zod.
    expect(bodyIssue("reading", Object.assign(Object.create({ x: 1 }), { value: 1, unit: "C" }))).toMatch(
      /Unrecognized key/,
    );
  });
});

const zodBlock = (b: unknown) => kinds.block.schema.safeParse(b).success;
// Register blocks near the edges: names of 0/1/64/65 units, 0 or 257 values, odd values and units,
// inherited keys, extra keys, and anything (not symbol keys: zod's record itself throws on them; the
// fast path leaves them to it).
const nameArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom("", "x".repeat(64), "x".repeat(65), "__proto__", "constructor"),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);
const numberish = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Infinity, -0),
  fc.string(),
  fc.boolean(),
);
const valuesArb = fc.oneof(
  fc.dictionary(nameArb, numberish, { maxKeys: 6 }),
  fc.dictionary(nameArb, fc.double({ noNaN: true, noDefaultInfinity: true }), { minKeys: 1, maxKeys: 6 }),
  fc.constantFrom(
    Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`r${i}`, i])),
    Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`r${i}`, i])),
    Object.assign(Object.create({ inherited: 1 }), { r0: 1 }),
    [1, 2],
  ),
  fc.anything(),
);
const blockLike = fc.record(
  {
    values: valuesArb,
    units: fc.oneof(
      fc.dictionary(nameArb, fc.oneof(fc.string({ maxLength: 17 }), fc.integer()), { maxKeys: 4 }),
      fc.anything(),
    ),
    quality: fc.oneof(fc.constantFrom("ok", "suspect", "bad", undefined, null), fc.string()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

const goodBlock = fc.record(
  {
    values: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 64 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      {
        minKeys: 1,
        maxKeys: 12,
      },
    ),
    units: fc.dictionary(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ maxLength: 16 }), {
      maxKeys: 4,
    }),
    quality: fc.constantFrom("ok", "suspect"),
  },
  { requiredKeys: ["values"] },
);

describe("the register-block fast path", () => {
  it("accepts only what zod accepts; bodyIssue says valid exactly when zod does", () => {
    let fast = 0;
    fc.assert(
      fc.property(fc.oneof(goodBlock, blockLike, blockLike, fc.anything()), (b) => {
        if (isPlainBlock(b)) {
          fast++;
          expect(zodBlock(b)).toBe(true);
        }
        expect(bodyIssue("block", b) === null).toBe(zodBlock(b));
      }),
      { numRuns: 20_000 },
    );
    expect(fast).toBeGreaterThan(2_000);
  });

  it("takes the Modbus driver's blocks, refuses through zod with zod's message", () => {
    const block = {
      values: { "env.temperature": 21.5, "env.humidity": 60 },
      units: { "env.temperature": "degC" },
    };
    expect(isPlainBlock(block)).toBe(true);
    expect(isPlainBlock({ values: block.values, quality: "suspect" })).toBe(true);
    expect(isPlainBlock({ values: {} })).toBe(false);
    expect(bodyIssue("block", { values: { t: Infinity } })).toMatch(/^block body values\.t:/);
    expect(bodyIssue("block", { values: { t: 1 }, units: { t: "x".repeat(17) } })).toMatch(
      /^block body units\.t:/,
    );
  });
});

describe("canonicalTime and linkFromParts", () => {
  const time = fc.record({
    wall: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    boot: fc.string(),
    mono: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    synced: fc.boolean(),
  });
  it("equals canonicalJson for capture times, including odd ones", () => {
    fc.assert(
      fc.property(
        fc.oneof(time, fc.record({ wall: fc.integer(), boot: fc.anything(), extra: fc.integer() })),
        (t) => {
          const outcome = (f: () => string) => {
            try {
              return f();
            } catch (e) {
              return `threw ${(e as Error).name}`;
            }
          };
          expect(outcome(() => canonicalTime(t as never))).toBe(outcome(() => canonicalJson(t)));
        },
      ),
      { numRuns: 5000 },
    );
  });
  it("gives the same link as link() over the canonical record", () => {
    fc.assert(
      fc.property(
        time,
        fc.string(),
        fc.string(),
        fc.nat(),
        fc.jsonValue(),
        (t, device, stream, seq, body) => {
          const prev = Buffer.alloc(32, seq % 251);
          const r = { device, stream, seq, t, kind: "reading", body };
          expect(linkFromParts(prev, device, stream, seq, t, "reading", canonicalJson(body))).toEqual(
            link(prev, r),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
  it("linkFromColumns gives the same link as link() over the canonical record", () => {
    fc.assert(
      fc.property(
        time,
        fc.string(),
        fc.string(),
        fc.string(),
        fc.nat(),
        fc.jsonValue(),
        (t, device, stream, kind, seq, body) => {
          const prev = Buffer.alloc(32, seq % 251);
          const r = { device, stream, seq, t, kind, body };
          expect(
            linkFromColumns(
              prev,
              device,
              stream,
              seq,
              kind,
              canonicalJson(body),
              t.wall,
              t.boot,
              t.mono,
              t.synced,
            ),
          ).toEqual(link(prev, r));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
