import { sql, type Transaction } from "kysely";
import { splitGeneration } from "../../sync/generation.ts";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import type { CommitResult, CommittedRange } from "./evidence-store.ts";
import type { GroupItem } from "./group-commit.ts";
import { type Prefetched, pairKey, type StreamState } from "./stream-rows.ts";
import type { VerifiedRecord, VerifiedSegment } from "./verify.ts";

/** A stream row of the group as the appends leave it, and the link at its current end. */
interface Working extends StreamState {
  device: string;
  stream: string;
  /** The stored link at maxSeq: read with the row, then the last appended segment's. */
  link: string | null;
  touched: boolean;
}

interface Row {
  device: string;
  stream: string;
  rec: VerifiedRecord;
}

/**
 * The common case of a fleet's group in set form: every batch that only appends whole records
 * segments right after its streams' stored end (same generation, nothing stored past max_seq,
 * committed_seq at max_seq, the segment's prev equal to the record stored at max_seq) is decided in
 * memory from the group's stream rows, read once (`linkAtMax`), and written with one INSERT of all
 * their records and one UPDATE of all their stream rows. Its outcome is what commitSegmentsIn
 * gives: no existing records to read (nothing is above max_seq), the link before is the one read,
 * no later neighbour, committed_seq moves to the end. A batch that does anything else (a gap, a
 * restart, a resend, a fork, a stream row not read, a link that differs) is left to commitSegmentsIn, and so
 * is every other batch of its device in the group: a device is planned whole or not at all, so the
 * rows commitSegmentsIn reads for it are exactly as locked.
 */
export function planAppends(items: GroupItem[], order: number[], rows: Prefetched, now: number) {
  const byDevice = new Map<string, number[]>();
  for (const i of order) {
    const d = items[i]!.device;
    const list = byDevice.get(d);
    if (list) list.push(i);
    else byDevice.set(d, [i]);
  }
  const done = new Map<number, CommitResult>();
  const inserts: Row[] = [];
  const updates: Working[] = [];
  // All of a device's batches in the group, or none of them: the rows the others read stay as read.
  device: for (const list of byDevice.values()) {
    const work = new Map<string, Working>();
    const mine: Array<[number, CommitResult, Row[]]> = [];
    for (const i of list) {
      const trial = tryAppend(items[i]!, rows, work);
      if (!trial) continue device;
      for (const w of trial.states) work.set(pairKey(w.device, w.stream), w);
      mine.push([i, trial.result, trial.rows]);
    }
    for (const [i, result, rs] of mine) {
      done.set(i, result);
      inserts.push(...rs);
    }
    updates.push(...[...work.values()].filter((w) => w.touched));
  }
  return { done, inserts, updates, now };
}

export type AppendPlan = ReturnType<typeof planAppends>;

function tryAppend(it: GroupItem, rows: Prefetched, work: Map<string, Working>) {
  const mine = new Map<string, Working>();
  const get = (name: string): Working | undefined => {
    const k = pairKey(it.device, name);
    let w = mine.get(k);
    if (w) return w;
    const from = work.get(k) ?? rows.get(k);
    if (!from) return undefined;
    const prior = work.get(k);
    w = {
      ...from,
      device: it.device,
      stream: name,
      stored: [],
      touched: prior?.touched ?? false,
      link: prior ? prior.link : (from.linkAtMax ?? null),
    };
    mine.set(k, w);
    return w;
  };
  const ranges: CommittedRange[] = [];
  const segments: VerifiedSegment[] = [];
  const out: Row[] = [];
  let inserted = 0;
  for (const s of it.segments) {
    if (s.type !== "records") return undefined;
    const { name, generation } = splitGeneration(s.stream);
    const w = get(name);
    if (!w || generation !== w.generation) return undefined;
    const b = w.seqBase;
    const first = s.first + b;
    const last = s.last + b;
    if (w.maxSeq !== first - 1 || w.committed !== w.maxSeq) return undefined;
    if (first - 1 > b && w.link !== s.prev) return undefined;
    const headSeq = w.head?.seq ?? w.headSeq;
    if (headSeq !== null && headSeq >= last) return undefined;
    const records = b === 0 ? s.records : s.records.map((r) => ({ ...r, seq: r.seq + b }));
    for (const rec of records) out.push({ device: it.device, stream: name, rec });
    segments.push({ ...s, stream: name, first, last, records });
    ranges.push({ stream: s.stream, from: s.first, to: s.last, hash: s.hash });
    inserted += records.length;
    w.count += records.length;
    w.maxSeq = last;
    w.committed = last;
    w.head = { seq: last, hash: s.hash, sig: s.sig };
    w.link = s.hash;
    w.touched = true;
  }
  return {
    states: [...mine.values()],
    rows: out,
    result: { ranges, inserted, duplicates: 0, segments } satisfies CommitResult,
  };
}

/** The plan's writes: all records in one INSERT, all stream rows in one UPDATE (PostgreSQL). */
export async function writeAppends(db: Db, trx: Transaction<DB>, plan: AppendPlan): Promise<void> {
  const { inserts: rows, updates, now } = plan;
  if (db.dialect !== "postgres") throw new Error("writeAppends: PostgreSQL only");
  if (rows.length > 0) {
    const col = <T>(f: (r: Row) => T) => rows.map(f);
    const res =
      await sql`INSERT INTO records(device, stream, seq, kind, t_wall, t_boot, t_mono, t_synced, t_corrected, body, prev, hash, received_at)
      SELECT u.device, u.stream, u.seq, u.kind, u.t_wall, u.t_boot, u.t_mono, u.t_synced, NULL, u.body, u.prev, u.hash, ${now}::bigint
      FROM unnest(${col((r) => r.device)}::text[], ${col((r) => r.stream)}::text[], ${col((r) => r.rec.seq)}::bigint[],
        ${col((r) => r.rec.kind)}::text[], ${col((r) => r.rec.t.wall)}::bigint[], ${col((r) => r.rec.t.boot)}::text[],
        ${col((r) => r.rec.t.mono)}::bigint[], ${col((r) => (r.rec.t.synced ? 1 : 0))}::integer[],
        ${col((r) => r.rec.body)}::text[], ${col((r) => r.rec.prev)}::text[], ${col((r) => r.rec.hash)}::text[])
        AS u(device, stream, seq, kind, t_wall, t_boot, t_mono, t_synced, body, prev, hash)
      ON CONFLICT (device, stream, seq) DO NOTHING`.execute(trx);
    // Nothing is stored above a locked row's max_seq: every row must have gone in.
    if (Number(res.numAffectedRows ?? 0) !== rows.length)
      throw new Error("group append: a record above max_seq was already stored");
  }
  if (updates.length > 0) {
    const c = <T>(f: (w: Working) => T) => updates.map(f);
    await sql`UPDATE streams AS s SET count = u.count, max_seq = u.max_seq, last_seen = ${now}::bigint,
        committed_seq = u.committed_seq, head_seq = u.head_seq, head_hash = u.head_hash, head_sig = u.head_sig
      FROM unnest(${c((w) => w.device)}::text[], ${c((w) => w.stream)}::text[], ${c((w) => w.count)}::bigint[],
        ${c((w) => w.maxSeq)}::bigint[], ${c((w) => w.committed)}::bigint[], ${c((w) => w.head!.seq)}::bigint[],
        ${c((w) => w.head!.hash)}::text[], ${c((w) => w.head!.sig)}::text[])
        AS u(device, stream, count, max_seq, committed_seq, head_seq, head_hash, head_sig)
      WHERE s.device = u.device AND s.stream = u.stream`.execute(trx);
  }
}
