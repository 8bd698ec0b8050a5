import { z } from "zod";
import { strictBase64 } from "../core/canonical.ts";
import { ERR_BAD_BATCH } from "../core/errors.ts";
import type { Batch, Segment, TimedBody } from "./batch-types.ts";

/**
 * The JSON document inside an up-batch frame (docs/protocol.md), in its two forms:
 * - `"v":1` (every agent before issue #15): a random batch `id`, each run's head link `h`, the
 *   monotonic times `tm` as deltas, the send time `at`;
 * - `"v":2` (compact): no `id` (the batch id is derived from the frame bytes, `frameId`), `tq`
 *   instead of `tm` (each monotonic delta minus the wall delta, mostly 0), `ao` instead of `at` (the
 *   send time minus the first record's wall time). Links, heads and signatures are as in v1, so the
 *   cloud verifies exactly what it verifies in v1, in the same order.
 * The cloud reads both; an agent writes v2 unless it is given an id (tests, the load generator).
 */
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64");
const recordFields = {
  st: z.string().min(1).max(128),
  f: z.number().int().positive(),
  n: z.number().int().positive().max(1_000_000),
  p: b64,
  h: b64,
  g: b64,
  k: z.union([z.string(), z.array(z.string())]),
  tb: z.array(z.string()).min(1),
  ti: z.array(z.number().int().nonnegative()).optional(),
  tw: z.array(z.number().int()),
  ts: z.union([z.boolean(), z.array(z.union([z.literal(0), z.literal(1)]))]),
  /** Bodies: a list, or columns {key: values[]} when every body is an object with the same keys. */
  b: z.union([z.array(z.unknown()), z.strictObject({ c: z.record(z.string(), z.array(z.unknown())) })]),
};
const docRecordSeg1 = z.strictObject({ ...recordFields, tm: z.array(z.number().int()) });
const docRecordSeg2 = z.strictObject({ ...recordFields, tq: z.array(z.number().int()) });
const docGapSeg = z.strictObject({
  st: z.string().min(1).max(128),
  gap: z.strictObject({
    from: z.number().int().positive(),
    to: z.number().int().positive(),
    r: z.string().max(200),
  }),
  p: b64,
  h: b64,
  g: b64,
});
const doc1 = z.strictObject({
  v: z.literal(1),
  d: z.string().min(1).max(64),
  id: z.string().regex(/^[0-9a-f]{32}$/),
  at: z.number().int(),
  s: z.array(z.union([docRecordSeg1, docGapSeg])),
});
const doc2 = z.strictObject({
  v: z.literal(2),
  d: z.string().min(1).max(64),
  /** Send time: `ao` relative to the first record's wall time when there is a record run, else `at`. */
  ao: z.number().int().optional(),
  at: z.number().int().optional(),
  s: z.array(z.union([docRecordSeg2, docGapSeg])),
});
export const frameDoc = z.discriminatedUnion("v", [doc1, doc2]);
export type FrameDoc = z.infer<typeof frameDoc>;
export type DocSegment1 = z.infer<typeof docRecordSeg1> | z.infer<typeof docGapSeg>;

export function deltas(xs: number[]): number[] {
  return xs.map((x, i) => (i === 0 ? x : x - xs[i - 1]!));
}
function undelta(xs: number[]): number[] {
  const out: number[] = new Array(xs.length);
  let acc = 0;
  for (let i = 0; i < xs.length; i++) {
    acc = i === 0 ? xs[0]! : acc + xs[i]!;
    out[i] = acc;
  }
  return out;
}
/** v2's `tq`: the first monotonic time, then each monotonic delta minus the wall delta. */
export function monoAgainstWall(wall: number[], mono: number[]): number[] {
  return mono.map((m, i) => (i === 0 ? m : m - mono[i - 1]! - (wall[i]! - wall[i - 1]!)));
}
function monoFromTq(wall: number[], tq: number[]): number[] {
  const out: number[] = new Array(tq.length);
  for (let i = 0; i < tq.length; i++)
    out[i] = i === 0 ? tq[0]! : out[i - 1]! + (wall[i]! - wall[i - 1]!) + tq[i]!;
  return out;
}

/** The decoded batch; `id` is the frame's derived id for a v2 document. */
export function fromDoc(d: FrameDoc, derivedId: () => string): Batch {
  let firstWall: number | undefined;
  for (const s of d.s) if (!("gap" in s)) firstWall ??= s.tw[0];
  let sentAt: number;
  if (d.v === 1) sentAt = d.at;
  else if (d.ao !== undefined && d.at === undefined && firstWall !== undefined) sentAt = firstWall + d.ao;
  else if (d.at !== undefined && d.ao === undefined && firstWall === undefined) sentAt = d.at;
  else throw ERR_BAD_BATCH("batch field ao/at: ao with record runs, at without, never both");
  return {
    device: d.d,
    id: d.v === 1 ? d.id : derivedId(),
    sentAt,
    segments: d.s.map((s): Segment => {
      const prev = strictBase64(s.p, 32);
      const hash = strictBase64(s.h, 32);
      const sig = strictBase64(s.g, 64);
      if (!prev || !hash)
        throw ERR_BAD_BATCH(`segment ${s.st}: link hashes must be the canonical base64 of 32 bytes`);
      if (!sig) throw ERR_BAD_BATCH(`segment ${s.st}: head sig must be the canonical base64 of 64 bytes`);
      const head = { hash, sig };
      if ("gap" in s) {
        if (s.gap.to < s.gap.from) throw ERR_BAD_BATCH(`gap in ${s.st}: to < from`);
        return { type: "gap", stream: s.st, from: s.gap.from, to: s.gap.to, reason: s.gap.r, prev, head };
      }
      const n = s.n;
      const need = (what: string, len: number) => {
        if (len !== n) throw ERR_BAD_BATCH(`segment ${s.st}: ${what} has ${len} entries for ${n} records`);
      };
      need("tw", s.tw.length);
      if ("tm" in s) need("tm", s.tm.length);
      else need("tq", s.tq.length);
      if (Array.isArray(s.k)) need("k", s.k.length);
      if (s.ti) need("ti", s.ti.length);
      if (Array.isArray(s.ts)) need("ts", s.ts.length);
      let bodies: unknown[];
      if (Array.isArray(s.b)) {
        need("b", s.b.length);
        bodies = s.b;
      } else {
        const cols = Object.entries(s.b.c);
        for (const [k, vs] of cols) need(`b.c.${k}`, vs.length);
        bodies = Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([k, vs]) => [k, vs[i]])));
      }
      const wall = undelta(s.tw);
      const mono = "tm" in s ? undelta(s.tm) : monoFromTq(wall, s.tq);
      const records: TimedBody[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const bootIdx = s.ti ? s.ti[i]! : 0;
        const boot = s.tb[bootIdx];
        if (boot === undefined) throw ERR_BAD_BATCH(`segment ${s.st}: boot index ${bootIdx} out of range`);
        records[i] = {
          t: { wall: wall[i]!, boot, mono: mono[i]!, synced: Array.isArray(s.ts) ? s.ts[i] === 1 : s.ts },
          kind: Array.isArray(s.k) ? s.k[i]! : s.k,
          body: bodies[i],
        };
      }
      return { type: "records", stream: s.st, first: s.f, prev, records, head };
    }),
  };
}
