import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BarnlinkError } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import type { Batch } from "../../sync/codec.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import type { Db } from "../db/connect.ts";
import { commitSegments } from "./evidence-store.ts";
import { commitGroup, type GroupItem, type GroupOutcome } from "./group-commit.ts";
import { verifyBatch } from "./verify.ts";

const key = generateKeyPair();
const OPS = [
  "next",
  "next",
  "next",
  "gap",
  "resend",
  "fork",
  "fork2",
  "restart",
  "stale",
  "two",
  "swap",
] as const;
type Op = { op: (typeof OPS)[number]; dev: number; stream: number; n: number };

const recs = (from: number, n: number, v: number) =>
  Array.from({ length: n }, (_, i) => ({
    t: { wall: 1_760_000_000_000 + (from + i) * 1000, boot: "b1", mono: (from + i) * 1000, synced: true },
    kind: "reading",
    body: { value: from + i + v / 1000, unit: "degC" },
  }));

/**
 * A fleet's traffic from a script: fresh batches, gaps, duplicate resends, forks at a stored seq
 * (BL_SEQ_CONFLICT), declared restarts (a new generation), replays of a closed generation
 * (BL_STALE_GENERATION), a second history continuing past a stored seq (a broken chain), two streams in one batch, and batches of a device out of order.
 */
function traffic(prefix: string, ops: Op[]): GroupItem[] {
  const w = new Map<string, { w: StreamWriter; g: number; sent: Batch["segments"] }>();
  const writer = (dev: number, stream: number) => {
    const k = `${dev}/${stream}`;
    let e = w.get(k);
    if (!e) {
      e = { w: new StreamWriter(`${prefix}-${dev}`, `s${stream}`, key), g: 0, sent: [] };
      w.set(k, e);
    }
    return e;
  };
  const items: GroupItem[] = [];
  for (const [i, o] of ops.entries()) {
    const device = `${prefix}-${o.dev}`;
    const e = writer(o.dev, o.stream);
    const name = `s${o.stream}`;
    let segs: Batch["segments"] = [];
    if (o.op === "next" || o.op === "gap") {
      const from = e.w.seq + 1;
      segs = [o.op === "next" ? e.w.next(recs(from, o.n, i)) : e.w.gap(recs(from, o.n, i))];
    } else if (o.op === "resend") segs = e.sent.length ? [e.sent[e.sent.length - 1]!] : [];
    else if (o.op === "fork") {
      const f = new StreamWriter(device, e.w.stream, key);
      segs = [f.next(recs(1, o.n, 500 + i))];
    } else if (o.op === "fork2") {
      // A second history past seq n: its prev differs from the link stored at n (a broken chain).
      const f = new StreamWriter(device, e.w.stream, key);
      f.next(recs(1, o.n, 600 + i));
      segs = [f.next(recs(o.n + 1, 1, 700 + i))];
    } else if (o.op === "restart") {
      e.g++;
      e.w = new StreamWriter(device, `${name}#g${e.g}`, key);
      segs = [e.w.next(recs(1, o.n, e.g * 7))];
    } else if (o.op === "stale") {
      const old = e.g > 0 ? `${name}#g${e.g - 1}`.replace("#g0", "") : name;
      segs = [new StreamWriter(device, old, key).next(recs(1, o.n, 900 + i))];
    } else if (o.op === "two") {
      const other = writer(o.dev, 1 - o.stream);
      segs = [e.w.next(recs(e.w.seq + 1, o.n, i)), other.w.next(recs(other.w.seq + 1, 1, i + 0.5))];
      other.sent.push(segs[1]!);
    } else if (o.op === "swap" && items.length >= 2) {
      const [a, b] = items.splice(-2);
      items.push(b!, a!);
      continue;
    }
    if (segs.length === 0) continue;
    e.sent.push(segs[0]!);
    items.push({ device, segments: verifyBatch(batchOf(device, segs), key.publicKey) });
  }
  return items;
}

const view = (o: GroupOutcome) =>
  o.ok
    ? { ok: true, ...o.result }
    : { ok: false, code: o.error instanceof BarnlinkError ? o.error.code : String(o.error) };

async function dump(db: Db, prefix: string) {
  const k = db.kysely;
  const like = `${prefix}-%`;
  return {
    records: await k
      .selectFrom("records")
      .select(["device", "stream", "seq", "kind", "body", "prev", "hash", "t_wall", "received_at"])
      .where("device", "like", like)
      .orderBy("device")
      .orderBy("stream")
      .orderBy("seq")
      .execute(),
    gaps: await k
      .selectFrom("gaps")
      .select(["device", "stream", "from_seq", "to_seq", "count", "reason", "prev", "hash", "received_at"])
      .where("device", "like", like)
      .orderBy("device")
      .orderBy("stream")
      .orderBy("from_seq")
      .execute(),
    streams: await k
      .selectFrom("streams")
      .selectAll()
      .where("device", "like", like)
      .orderBy("device")
      .orderBy("stream")
      .execute(),
    restarts: await k
      .selectFrom("stream_restarts")
      .select([
        "device",
        "stream",
        "generation",
        "seq_base",
        "old_generation",
        "old_committed",
        "old_max",
        "missing",
      ])
      .where("device", "like", like)
      .orderBy("device")
      .orderBy("stream")
      .orderBy("generation")
      .execute(),
  };
}

const opArb = fc.record({
  op: fc.constantFrom(...OPS),
  dev: fc.integer({ min: 0, max: 3 }),
  stream: fc.integer({ min: 0, max: 1 }),
  n: fc.integer({ min: 1, max: 3 }),
});

/**
 * The shortcuts of group commit (optimistic group without savepoints, the group's stream rows read
 * in one statement, the merged reads of evidence-store.ts and stream-rows.ts) against the plain
 * path: each batch committed alone, in the group's device order. Same outcomes, same rows.
 */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`group commit equals one commit per batch on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const dbs = available ? await Promise.all([freshDb(dialect), freshDb(dialect), freshDb(dialect)]) : [];
    afterAll(() => Promise.all(dbs.map((d) => d.drop())));
    const tag = randomBytes(3).toString("hex");
    let run = 0;
    const seen = { failed: 0, committed: 0, duplicates: 0, restarts: 0, broken: 0 };

    it.runIf(available)("same outcomes and same stored evidence, with conflicts mid-group", async () => {
      const mid: Op[] = [
        { op: "next", dev: 0, stream: 0, n: 2 },
        { op: "next", dev: 1, stream: 0, n: 2 },
        { op: "next", dev: 2, stream: 0, n: 1 },
        { op: "fork", dev: 0, stream: 0, n: 1 },
        { op: "resend", dev: 1, stream: 0, n: 1 },
        { op: "restart", dev: 2, stream: 0, n: 2 },
        { op: "next", dev: 3, stream: 1, n: 3 },
        { op: "next", dev: 0, stream: 0, n: 1 },
      ];
      // Records after a stored gap, from a second history: the link before them is the gap's.
      const afterGap: Op[] = [
        { op: "gap", dev: 0, stream: 0, n: 2 },
        { op: "next", dev: 1, stream: 0, n: 1 },
        { op: "fork2", dev: 0, stream: 0, n: 2 },
      ];
      // An append right after max_seq while a hole below is still open (committed_seq stays put).
      const hole: Op[] = [
        { op: "next", dev: 0, stream: 0, n: 1 },
        { op: "next", dev: 1, stream: 0, n: 1 },
        { op: "next", dev: 0, stream: 0, n: 1 },
        { op: "next", dev: 0, stream: 0, n: 1 },
        { op: "swap", dev: 0, stream: 0, n: 1 },
        { op: "next", dev: 0, stream: 0, n: 1 },
        { op: "swap", dev: 0, stream: 0, n: 1 },
        { op: "next", dev: 1, stream: 0, n: 1 },
        { op: "swap", dev: 0, stream: 0, n: 1 },
      ];
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 24 }),
          fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
          async (ops, sizes) => {
            const prefix = `p${tag}${run++}`;
            const items = traffic(prefix, ops);
            const groups: GroupItem[][] = [];
            for (let at = 0, g = 0; at < items.length; g++) {
              const n = sizes[g % sizes.length]!;
              groups.push(items.slice(at, at + n));
              at += n;
            }
            const [fast, careful, plain] = dbs.map((d) => d.db) as [Db, Db, Db];
            for (const [r, group] of groups.entries()) {
              const a = await commitGroup(fast, group, 100 + r);
              const b = await commitGroup(careful, group, 100 + r, { optimistic: false });
              const order = group
                .map((_, i) => i)
                .sort((x, y) =>
                  group[x]!.device < group[y]!.device ? -1 : group[x]!.device > group[y]!.device ? 1 : 0,
                );
              const c: GroupOutcome[] = new Array(group.length);
              for (const i of order) {
                const it = group[i]!;
                try {
                  c[i] = {
                    ok: true,
                    result: await commitSegments(plain, it.device, it.segments, 100 + r, { plain: true }),
                  };
                } catch (error) {
                  c[i] = { ok: false, error };
                }
              }
              for (const o of c) {
                if (!o.ok) seen.failed++;
                else {
                  seen.committed++;
                  if (o.result.duplicates) seen.duplicates++;
                }
              }
              expect(a.map(view)).toEqual(c.map(view));
              expect(b.map(view)).toEqual(c.map(view));
              // Row by row after every group, not only at the end (a later group may hide a difference).
              const now = await dump(plain, prefix);
              expect(await dump(fast, prefix)).toEqual(now);
              expect(await dump(careful, prefix)).toEqual(now);
            }
            const want = await dump(plain, prefix);
            seen.restarts += want.restarts.length;
            seen.broken += want.streams.filter((x) => !x.chain_ok).length;
            expect(await dump(fast, prefix)).toEqual(want);
            expect(await dump(careful, prefix)).toEqual(want);
          },
        ),
        {
          numRuns: dialect === "sqlite" ? 60 : 30,
          examples: [
            [mid, [8]],
            [mid, [3, 5]],
            [afterGap, [1]],
            [afterGap, [3]],
            [hole, [2, 1, 2, 1]],
          ],
        },
      );
      // The scripts did reach the paths that matter: failures mid-group, resends, restarts.
      expect(seen.failed).toBeGreaterThan(0);
      expect(seen.duplicates).toBeGreaterThan(0);
      expect(seen.restarts).toBeGreaterThan(0);
      expect(seen.broken).toBeGreaterThan(0);
    });
  });
}
