import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import { verifyRun } from "./chain.ts";
import { decodeBatch, encodeBatch, frameId, segmentRecords } from "./codec.ts";
import { StreamWriter } from "./stream-writer.ts";

const key = generateKeyPair();
const block = (i: number) => ({ values: { r0: 100 + Math.floor(i / 5), r1: 1, r2: 2 } });

describe("compact (v2) frames", () => {
  it("leave out the batch id and the absolute send and monotonic times, and decode to the same records and head", () => {
    const w = new StreamWriter("peer-gw", "bus.dev1", key);
    const rs = Array.from({ length: 10 }, (_, i) => ({
      t: {
        wall: 1_772_323_200_000 + i * 100 + (i % 3),
        boot: "b-1",
        mono: 5_000_000 + i * 101,
        synced: true,
      },
      kind: "block",
      body: block(i),
    }));
    const seg = w.next(rs);
    for (const compression of ["auto", "deflate-dict", "brotli", "deflate", "none"] as const) {
      const frame = encodeBatch(
        { device: "peer-gw", sentAt: rs[9]!.t.wall + 40, segments: [seg] },
        compression,
      );
      const text = encodeBatch({ device: "peer-gw", sentAt: 0, segments: [seg] }, "none").toString();
      expect(text).not.toContain('"id"');
      expect(text).not.toContain('"tm"');
      expect(text).not.toContain('"at"');
      const b = decodeBatch(frame);
      expect(b.id).toBe(frameId(frame));
      expect(b.sentAt).toBe(rs[9]!.t.wall + 40);
      const s = b.segments[0]!;
      if (s.type !== "records") throw new Error("records expected");
      expect(s.records).toEqual(rs);
      expect(s.head.hash.equals(seg.head.hash) && s.head.sig.equals(seg.head.sig)).toBe(true);
      expect(verifyRun(s.prev, segmentRecords("peer-gw", s), s.head.hash).ok).toBe(true);
    }
  });

  it("a small frame goes with the preset dictionary (code 3), a large one with brotli (code 2)", () => {
    const w = new StreamWriter("d", "s", key);
    const mk = (n: number) =>
      w.next(
        Array.from({ length: n }, (_, i) => ({
          t: { wall: 1e12 + i, boot: "b", mono: i, synced: true },
          kind: "block",
          body: { values: { [`v${i}`]: i * 1.5 } },
        })),
      );
    expect(encodeBatch({ device: "d", sentAt: 1, segments: [mk(10)] })[5]).toBe(3);
    expect(encodeBatch({ device: "d", sentAt: 1, segments: [mk(2000)] })[5]).toBe(2);
  });

  it("keep monotonic times exactly whatever they do against the wall clock (tq)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 0, max: 1e9 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.boolean(),
        (ts, withId) => {
          const w = new StreamWriter("d", "s", key);
          let wall = 1_700_000_000_000;
          const rs = ts.map(([dw, mono], i) => {
            wall += dw;
            return {
              t: { wall, boot: `b${i % 2}`, mono, synced: i % 3 === 0 },
              kind: "reading",
              body: { value: i, unit: "C" },
            };
          });
          const frame = encodeBatch({
            device: "d",
            sentAt: wall + 7,
            segments: [w.next(rs)],
            ...(withId ? { id: "a".repeat(32) } : {}),
          });
          const b = decodeBatch(frame);
          const s = b.segments[0]!;
          expect(s.type === "records" && s.records).toEqual(rs);
          expect(b.sentAt).toBe(wall + 7);
          expect(b.id).toBe(withId ? "a".repeat(32) : frameId(frame));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gaps keep their head link, and a batch of gaps only carries its send time as `at`", () => {
    const w = new StreamWriter("d", "s", key);
    const g = w.gap([
      { t: { wall: 1, boot: "b", mono: 1, synced: true }, kind: "reading", body: { value: 1, unit: "" } },
    ]);
    const b = decodeBatch(encodeBatch({ device: "d", sentAt: 99, segments: [g] }));
    expect(b.sentAt).toBe(99);
    expect(b.segments[0]).toMatchObject({ type: "gap", from: 1, to: 1, head: { hash: g.head.hash } });
  });

  it("refuse v1 fields in a v2 document and v2 fields in a v1 one", () => {
    const w = new StreamWriter("d", "s", key);
    const seg = w.next([
      { t: { wall: 5, boot: "b", mono: 5, synced: true }, kind: "reading", body: { value: 1, unit: "" } },
    ]);
    const v2 = encodeBatch({ device: "d", sentAt: 9, segments: [seg] }, "none");
    const hack = (from: string, to: string) => {
      const json = Buffer.from(v2.subarray(10).toString().replace(from, to));
      const header = Buffer.from(v2.subarray(0, 10));
      header.writeUInt32BE(json.length, 6);
      return Buffer.concat([header, json]);
    };
    expect(() => decodeBatch(hack('"tq":', '"tm":'))).toThrow(/BL_BAD_BATCH|batch field/);
    expect(() => decodeBatch(hack('"v":2', '"v":1'))).toThrow(/batch field/);
    expect(() => decodeBatch(hack('"ao":4', '"ao":4,"at":9'))).toThrow(/ao/);
    expect(() => decodeBatch(hack('"ao":4', '"ao":4,"id":"0123456789abcdef0123456789abcdef"'))).toThrow(
      /batch field/,
    );
  });
});
