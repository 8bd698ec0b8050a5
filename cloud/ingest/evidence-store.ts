import type { Transaction } from "kysely";
import { ERR_SEQ_CONFLICT } from "../../core/errors.ts";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import type { VerifiedSegment } from "./verify.ts";

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
}

const CHUNK = 400;

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
): Promise<CommitResult> {
  return db.kysely.transaction().execute(async (trx) => {
    let inserted = 0;
    let duplicates = 0;
    const ranges: CommittedRange[] = [];
    const touched = new Set<string>();
    for (const s of segments) {
      await lockStream(db, trx, device, s.stream);
      touched.add(s.stream);
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
        await checkNeighbours(trx, device, s.stream, s.from, s.to, s.prev, s.hash);
        await updateHead(trx, device, s.stream, s.to, s.hash, s.sig, now, 0);
        ranges.push({ stream: s.stream, from: s.from, to: s.to, hash: s.hash });
        continue;
      }
      const existing = await trx
        .selectFrom("records")
        .select(["seq", "hash"])
        .where("device", "=", device)
        .where("stream", "=", s.stream)
        .where("seq", ">=", s.first)
        .where("seq", "<=", s.last)
        .execute();
      const have = new Map(existing.map((r) => [Number(r.seq), r.hash]));
      const fresh = [];
      for (const r of s.records) {
        const h = have.get(r.seq);
        if (h === undefined) fresh.push(r);
        else if (h !== r.hash) {
          throw ERR_SEQ_CONFLICT(`${s.stream} seq ${r.seq} is already stored with different content`);
        } else duplicates++;
      }
      for (let i = 0; i < fresh.length; i += CHUNK) {
        const rows = fresh.slice(i, i + CHUNK).map((r) => ({
          device,
          stream: s.stream,
          seq: r.seq,
          kind: r.kind,
          t_wall: r.t.wall,
          t_boot: r.t.boot,
          t_mono: r.t.mono,
          t_synced: r.t.synced ? 1 : 0,
          t_corrected: null,
          body: r.body,
          prev: r.prev,
          hash: r.hash,
          received_at: now,
        }));
        const res = await trx
          .insertInto("records")
          .values(rows)
          .onConflict((oc) => oc.columns(["device", "stream", "seq"]).doNothing())
          .executeTakeFirst();
        inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      await checkNeighbours(trx, device, s.stream, s.first, s.last, s.prev, s.hash);
      await updateHead(trx, device, s.stream, s.last, s.hash, s.sig, now, fresh.length);
      ranges.push({ stream: s.stream, from: s.first, to: s.last, hash: s.hash });
    }
    for (const stream of touched) await advanceCommitted(trx, device, stream);
    return { ranges, inserted, duplicates };
  });
}

async function lockStream(db: Db, trx: Transaction<DB>, device: string, stream: string) {
  await trx
    .insertInto("streams")
    .values({ device, stream, committed_seq: 0, max_seq: 0, count: 0, chain_ok: 1 })
    .onConflict((oc) => oc.columns(["device", "stream"]).doNothing())
    .execute();
  // On PostgreSQL two instances may take batches of one stream at once: serialise on its row.
  if (db.dialect === "postgres") {
    await trx
      .selectFrom("streams")
      .select("device")
      .where("device", "=", device)
      .where("stream", "=", stream)
      .forUpdate()
      .execute();
  }
}

/** The link before `from` and after `to`, where stored, must agree with this range. */
async function checkNeighbours(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  from: number,
  to: number,
  prev: string,
  hash: string,
) {
  const before = await linkAt(trx, device, stream, from - 1);
  const after = await prevAt(trx, device, stream, to + 1);
  let error: string | null = null;
  if (before !== undefined && before !== prev)
    error = `link at seq ${from - 1} differs from the prev of seq ${from}`;
  if (after !== undefined && after !== hash)
    error = `link at seq ${to} differs from the prev of seq ${to + 1}`;
  if (error) {
    await trx
      .updateTable("streams")
      .set({ chain_ok: 0, chain_error: error })
      .where("device", "=", device)
      .where("stream", "=", stream)
      .execute();
  }
}

async function linkAt(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  seq: number,
): Promise<string | undefined> {
  if (seq < 1) return undefined;
  const r = await trx
    .selectFrom("records")
    .select("hash")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("seq", "=", seq)
    .executeTakeFirst();
  if (r) return r.hash;
  const g = await trx
    .selectFrom("gaps")
    .select("hash")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("to_seq", "=", seq)
    .executeTakeFirst();
  return g?.hash;
}

async function prevAt(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  seq: number,
): Promise<string | undefined> {
  const r = await trx
    .selectFrom("records")
    .select("prev")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("seq", "=", seq)
    .executeTakeFirst();
  if (r) return r.prev;
  const g = await trx
    .selectFrom("gaps")
    .select("prev")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("from_seq", "=", seq)
    .executeTakeFirst();
  return g?.prev;
}

async function updateHead(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  seq: number,
  hash: string,
  sig: string,
  now: number,
  added: number,
) {
  const cur = await trx
    .selectFrom("streams")
    .select(["head_seq", "max_seq", "count"])
    .where("device", "=", device)
    .where("stream", "=", stream)
    .executeTakeFirstOrThrow();
  const newer = cur.head_seq === null || seq > Number(cur.head_seq);
  await trx
    .updateTable("streams")
    .set({
      count: Number(cur.count) + added,
      max_seq: Math.max(Number(cur.max_seq), seq),
      last_seen: now,
      ...(newer ? { head_seq: seq, head_hash: hash, head_sig: sig } : {}),
    })
    .where("device", "=", device)
    .where("stream", "=", stream)
    .execute();
}

/** committed_seq: the highest seq such that every seq up to it is stored or covered by a recorded gap. */
async function advanceCommitted(trx: Transaction<DB>, device: string, stream: string) {
  const cur = await trx
    .selectFrom("streams")
    .select("committed_seq")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .executeTakeFirstOrThrow();
  let c = Number(cur.committed_seq);
  const start = c;
  for (;;) {
    const rows = await trx
      .selectFrom("records")
      .select("seq")
      .where("device", "=", device)
      .where("stream", "=", stream)
      .where("seq", ">", c)
      .orderBy("seq")
      .limit(5000)
      .execute();
    let moved = false;
    for (const r of rows) {
      if (Number(r.seq) !== c + 1) break;
      c++;
      moved = true;
    }
    // A gap may start below c + 1: records evicted while in flight can arrive and be stored too.
    const gap = await trx
      .selectFrom("gaps")
      .select("to_seq")
      .where("device", "=", device)
      .where("stream", "=", stream)
      .where("from_seq", "<=", c + 1)
      .where("to_seq", ">", c)
      .orderBy("to_seq", "desc")
      .executeTakeFirst();
    if (gap) {
      c = Number(gap.to_seq);
      continue;
    }
    if (!moved || rows.length < 5000) {
      if (!moved) break;
      // The run may continue past this page only if the page was full.
      if (rows.length < 5000) break;
    }
  }
  if (c !== start) {
    await trx
      .updateTable("streams")
      .set({ committed_seq: c })
      .where("device", "=", device)
      .where("stream", "=", stream)
      .execute();
  }
}
