import assert from "node:assert/strict";
import type Database from "better-sqlite3";
import { sql, type Transaction } from "kysely";
import { ERR_SEQ_CONFLICT } from "../../core/errors.ts";
import { splitGeneration } from "../../sync/generation.ts";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import { placeSegment } from "./generations.ts";
import {
  advanceCommitted,
  checkNeighbours,
  gapLink,
  lockStream,
  type Prefetched,
  type StreamState,
  updateHead,
} from "./stream-rows.ts";
import type { VerifiedRecord, VerifiedSegment } from "./verify.ts";

export interface CommittedRange {
  stream: string;
  from: number;
  to: number;
  hash: string;
}

export interface CommitResult {
  ranges: CommittedRange[];
  inserted: number;
  duplicates: number;
  /** The segments as stored: stream names without a generation suffix, seqs past the generation's base. */
  segments: VerifiedSegment[];
}

export interface CommitOptions {
  /** The group's stream rows, read (and locked) already: group-commit.ts. */
  pre?: Prefetched;
  /**
   * Without the round-trip shortcuts (read-first stream lock, the link before read with the
   * existing records, the committed-seq advance without reads): the reference the property tests
   * (group-commit.property.test.ts) compare the shortcuts with. Same results, more statements.
   */
  plain?: boolean;
}

/**
 * Stores verified segments in one transaction, idempotently: (device, stream, seq) is unique, a
 * record already stored with the same link is a no-op, one stored with a different link is a
 * conflict and rejects the batch. Links to neighbours already stored are checked; a mismatch marks
 * the stream's chain broken (the device signed two histories). Returns only after commit.
 */
export async function commitSegments(
  db: Db,
  device: string,
  segments: VerifiedSegment[],
  now: number,
  o: CommitOptions = {},
): Promise<CommitResult> {
  return db.kysely.transaction().execute((trx) => commitSegmentsIn(db, trx, device, segments, now, o));
}

/**
 * The same, inside a transaction the caller holds (group commit runs many devices' batches in one,
 * each behind a savepoint). Streams are locked in name order, so two writers never wait on each
 * other's locks in opposite orders.
 */
export async function commitSegmentsIn(
  db: Db,
  trx: Transaction<DB>,
  device: string,
  segments: VerifiedSegment[],
  now: number,
  o: CommitOptions = {},
): Promise<CommitResult> {
  const { pre, plain } = o;
  {
    let inserted = 0;
    let duplicates = 0;
    const ranges: CommittedRange[] = [];
    const storedSegments: VerifiedSegment[] = [];
    const touched = new Map<string, StreamState>();
    for (const name of [...new Set(segments.map((x) => splitGeneration(x.stream).name))].sort()) {
      touched.set(name, await lockStream(db, trx, device, name, { pre, plain }));
    }
    for (const wire of segments) {
      const name = splitGeneration(wire.stream).name;
      let st = touched.get(name);
      if (!st) {
        st = await lockStream(db, trx, device, name, { pre, plain });
        touched.set(name, st);
      }
      // A generation's seqs are stored after the generations before it (generations.ts).
      const placed = await placeSegment(trx, device, wire, st, now);
      const s = placed.stored;
      const genStart = placed.genStart;
      storedSegments.push(s);
      ranges.push(placed.range);
      if (s.type === "gap") {
        // Records evicted while already in flight may have arrived: the gap counts only what is missing.
        const stored = await trx
          .selectFrom("records")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("device", "=", device)
          .where("stream", "=", s.stream)
          .where("seq", ">=", s.from)
          .where("seq", "<=", s.to)
          .executeTakeFirst();
        await trx
          .insertInto("gaps")
          .values({
            device,
            stream: s.stream,
            from_seq: s.from,
            to_seq: s.to,
            count: s.to - s.from + 1 - Number(stored?.n ?? 0),
            reason: s.reason,
            prev: s.prev,
            hash: s.hash,
            received_at: now,
          })
          .onConflict((oc) => oc.columns(["device", "stream", "from_seq"]).doNothing())
          .execute();
        await checkNeighbours(trx, st, device, s.stream, s.from, s.to, s.prev, s.hash, genStart);
        st.gapsHere = true;
        updateHead(st, s.to, s.hash, s.sig, 0);
        continue;
      }
      // The records already stored in the range, and in the same read the link before it (its
      // neighbour check), when that is a record of this generation.
      const withBefore = !plain && s.first - 1 > genStart;
      const existing = await trx
        .selectFrom("records")
        .select(["seq", "hash"])
        .where("device", "=", device)
        .where("stream", "=", s.stream)
        .where("seq", ">=", withBefore ? s.first - 1 : s.first)
        .where("seq", "<=", s.last)
        .execute();
      const have = new Map(existing.map((r) => [Number(r.seq), r.hash]));
      const before = withBefore
        ? { before: have.get(s.first - 1) ?? (await gapLink(trx, device, s.stream, s.first - 1, "hash")) }
        : undefined;
      have.delete(s.first - 1);
      const fresh: VerifiedRecord[] = [];
      for (const r of s.records) {
        const h = have.get(r.seq);
        if (h === undefined) fresh.push(r);
        else if (h !== r.hash) {
          throw ERR_SEQ_CONFLICT(`${s.stream} seq ${r.seq} is already stored with different content`);
        } else duplicates++;
      }
      if (fresh.length) inserted += await insertRecords(db, trx, device, s.stream, fresh, now);
      // Every seq of the segment is now stored (inserted, or already there with the same link).
      st.stored.push([s.first, s.last]);
      await checkNeighbours(trx, st, device, s.stream, s.first, s.last, s.prev, s.hash, genStart, before);
      updateHead(st, s.last, s.hash, s.sig, fresh.length);
    }
    for (const [stream, st] of touched) {
      const committed = await advanceCommitted(trx, device, stream, st, plain);
      await trx
        .updateTable("streams")
        .set({
          count: st.count,
          max_seq: st.maxSeq,
          last_seen: now,
          committed_seq: committed,
          ...(st.restarted ? { generation: st.generation, seq_base: st.seqBase } : {}),
          ...(st.head ? { head_seq: st.head.seq, head_hash: st.head.hash, head_sig: st.head.sig } : {}),
        })
        .where("device", "=", device)
        .where("stream", "=", stream)
        .execute();
    }
    return { ranges, inserted, duplicates, segments: storedSegments };
  }
}

const INSERT_SQLITE =
  "INSERT INTO records(device, stream, seq, kind, t_wall, t_boot, t_mono, t_synced, t_corrected, body, prev, hash, received_at) " +
  "VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?,?) ON CONFLICT(device, stream, seq) DO NOTHING";
const sqliteInserts = new WeakMap<Database.Database, Database.Statement>();

/**
 * The bulk insert, without Kysely's per-row query building: on SQLite one prepared statement run per
 * row on the transaction's own connection; on PostgreSQL one INSERT … SELECT FROM unnest(arrays).
 * Both ON CONFLICT DO NOTHING, as before (a row another writer stored first is not counted).
 */
async function insertRecords(
  db: Db,
  trx: Transaction<DB>,
  device: string,
  stream: string,
  rows: VerifiedRecord[],
  now: number,
): Promise<number> {
  if (db.sqlite) {
    let st = sqliteInserts.get(db.sqlite);
    if (!st) {
      st = db.sqlite.prepare(INSERT_SQLITE);
      sqliteInserts.set(db.sqlite, st);
    }
    let n = 0;
    for (const r of rows) {
      const t = r.t;
      n += st.run(
        device,
        stream,
        r.seq,
        r.kind,
        t.wall,
        t.boot,
        t.mono,
        t.synced ? 1 : 0,
        r.body,
        r.prev,
        r.hash,
        now,
      ).changes;
    }
    return n;
  }
  if (db.dialect === "postgres") {
    const col = <T>(f: (r: VerifiedRecord) => T) => rows.map(f);
    const res =
      await sql`INSERT INTO records(device, stream, seq, kind, t_wall, t_boot, t_mono, t_synced, t_corrected, body, prev, hash, received_at)
      SELECT ${device}, ${stream}, u.seq, u.kind, u.t_wall, u.t_boot, u.t_mono, u.t_synced, NULL, u.body, u.prev, u.hash, ${now}::bigint
      FROM unnest(${col((r) => r.seq)}::bigint[], ${col((r) => r.kind)}::text[], ${col((r) => r.t.wall)}::bigint[],
        ${col((r) => r.t.boot)}::text[], ${col((r) => r.t.mono)}::bigint[], ${col((r) => (r.t.synced ? 1 : 0))}::integer[],
        ${col((r) => r.body)}::text[], ${col((r) => r.prev)}::text[], ${col((r) => r.hash)}::text[])
        AS u(seq, kind, t_wall, t_boot, t_mono, t_synced, body, prev, hash)
      ON CONFLICT (device, stream, seq) DO NOTHING`.execute(trx);
    return Number(res.numAffectedRows ?? 0);
  }
  // Unreachable: openDb gives every SQLite Db its handle, and Dialect is "sqlite" | "postgres".
  return assert.fail(`no bulk insert for dialect ${db.dialect}`);
}
