import { sql, type Transaction } from "kysely";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import type { GenerationState } from "./generations.ts";

/** A stream's row, read once under the lock and written once at the end of the transaction. */
export interface StreamState extends GenerationState {
  count: number;
  headSeq: number | null;
  head?: { seq: number; hash: string; sig: string };
  /** Ranges known stored after this transaction (verified records inserted or already there). */
  stored: Array<[number, number]>;
  /** max_seq as read under the lock: nothing (no record, no gap) is stored above it but by this transaction. */
  readMax: number;
  /** A gap segment of this stream was stored by this transaction. */
  gapsHere?: boolean;
  /** The hash of the record stored at max_seq, when the group read it (lockGroupStreams); null if none. */
  linkAtMax?: string | null;
}

/** Stream rows read (and on PostgreSQL locked) for a whole group at once, by `device\nstream`; each is used once. */
export type Prefetched = Map<string, StreamState>;

const COLUMNS = [
  "committed_seq",
  "max_seq",
  "count",
  "head_seq",
  "head_hash",
  "generation",
  "seq_base",
] as const;
type Row = {
  committed_seq: number;
  max_seq: number;
  count: number;
  head_seq: number | null;
  head_hash: string | null;
  generation: number;
  seq_base: number;
};

function stateOf(r: Row): StreamState {
  return {
    committed: Number(r.committed_seq),
    maxSeq: Number(r.max_seq),
    readMax: Number(r.max_seq),
    count: Number(r.count),
    headSeq: r.head_seq === null ? null : Number(r.head_seq),
    headHash: r.head_hash,
    generation: Number(r.generation),
    seqBase: Number(r.seq_base),
    stored: [],
  };
}

export const pairKey = (device: string, stream: string) => `${device}\n${stream}`;

/**
 * PostgreSQL: the stream rows every batch of a group will lock, locked first and in (device,
 * stream) order (two instances committing overlapping groups then wait for each other instead of
 * deadlocking) and read in the same statement. Rows not there yet are created by their batch, or
 * with `create` here, all in one statement, as each batch's lockStream would (only where the group
 * is all or nothing: the optimistic transaction, in which every pair's batch would create it).
 */
export async function lockGroupStreams(
  trx: Transaction<DB>,
  pairs: Array<[string, string]>,
  create = false,
): Promise<Prefetched> {
  const devices = pairs.map((p) => p[0]);
  const streams = pairs.map((p) => p[1]);
  // With the row, the record stored at its max_seq (its link, for group-append.ts): a record's hash
  // never changes, and its seq is checked against the row as locked.
  const res = await sql<
    Row & { device: string; stream: string; link_seq: number | null; link: string | null }
  >`
    SELECT s.device, s.stream, ${sql.join(COLUMNS.map((c) => sql.ref(`s.${c}`)))}, r.seq AS link_seq, r.hash AS link
    FROM streams s LEFT JOIN records r ON r.device = s.device AND r.stream = s.stream AND r.seq = s.max_seq
    WHERE (s.device, s.stream) IN (SELECT * FROM unnest(${devices}::text[], ${streams}::text[]))
    ORDER BY s.device, s.stream FOR UPDATE OF s`.execute(trx);
  const found: Prefetched = new Map(
    res.rows.map((r) => [
      pairKey(r.device, r.stream),
      {
        ...stateOf(r),
        linkAtMax: r.link_seq !== null && Number(r.link_seq) === Number(r.max_seq) ? r.link : null,
      },
    ]),
  );
  const missing = pairs.filter(([d, st]) => !found.has(pairKey(d, st)));
  if (!create || missing.length === 0) return found;
  await sql`INSERT INTO streams(device, stream, committed_seq, max_seq, count, chain_ok)
    SELECT u.device, u.stream, 0, 0, 0, 1 FROM unnest(${missing.map((m) => m[0])}::text[], ${missing.map((m) => m[1])}::text[])
      AS u(device, stream) ORDER BY u.device, u.stream
    ON CONFLICT (device, stream) DO NOTHING`.execute(trx);
  for (const [k, v] of await lockGroupStreams(trx, missing)) found.set(k, v);
  return found;
}

/**
 * The stream's row, locked (PostgreSQL) and read: taken from `pre` when the group read it already
 * (and never again from there: a later batch of the same stream reads what this one wrote), else
 * read, and created first when missing. Read-then-create costs one statement for a stream that
 * exists; a row another writer creates meanwhile is waited for by the insert, then read.
 */
export async function lockStream(
  db: Db,
  trx: Transaction<DB>,
  device: string,
  stream: string,
  o: { pre?: Prefetched; plain?: boolean } = {},
): Promise<StreamState> {
  const { pre, plain } = o;
  const k = pairKey(device, stream);
  const p = pre?.get(k);
  if (p) {
    pre!.delete(k);
    return p;
  }
  // On PostgreSQL two instances may take batches of one stream at once: serialise on its row, and
  // read it under that lock.
  const read = () => {
    let q = trx
      .selectFrom("streams")
      .select(COLUMNS)
      .where("device", "=", device)
      .where("stream", "=", stream);
    if (db.dialect === "postgres") q = q.forUpdate();
    return q.executeTakeFirst();
  };
  const r = plain ? undefined : await read();
  if (r) return stateOf(r);
  await trx
    .insertInto("streams")
    .values({ device, stream, committed_seq: 0, max_seq: 0, count: 0, chain_ok: 1 })
    .onConflict((oc) => oc.columns(["device", "stream"]).doNothing())
    .execute();
  const created = await read();
  if (!created) throw new Error(`stream row ${device}/${stream} missing after insert`);
  return stateOf(created);
}

/**
 * The link before `from` (within its generation) and after `to`, where stored, must agree with this
 * range. `before`, when given, is the link at `from - 1` as already read with the existing records.
 */
export async function checkNeighbours(
  trx: Transaction<DB>,
  st: StreamState,
  device: string,
  stream: string,
  from: number,
  to: number,
  prev: string,
  hash: string,
  genStart: number,
  known?: { before: string | undefined },
) {
  // A generation's seq 1 follows its genesis, not the closed generation's last link.
  const before =
    from - 1 > genStart ? (known ? known.before : await linkAt(trx, device, stream, from - 1)) : undefined;
  // Nothing (no record, no gap) is stored above max_seq, so there is no later neighbour to check.
  const after = st.maxSeq > to ? await prevAt(trx, device, stream, to + 1) : undefined;
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

/** A gap's link: `side: "hash"` of a gap ending at `seq`, `side: "prev"` of one starting there. */
export async function gapLink(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  seq: number,
  side: "hash" | "prev",
): Promise<string | undefined> {
  const g = await trx
    .selectFrom("gaps")
    .select(side)
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where(side === "hash" ? "to_seq" : "from_seq", "=", seq)
    .executeTakeFirst();
  return g ? (g as Record<string, string>)[side] : undefined;
}

/**
 * A neighbour's link as stored: `side: "hash"` is the link at `seq` (a record, or a gap ending
 * there); `side: "prev"` is the link before `seq` (a record, or a gap starting there).
 */
async function storedLink(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  seq: number,
  side: "hash" | "prev",
): Promise<string | undefined> {
  if (seq < 1) return undefined;
  const r = await trx
    .selectFrom("records")
    .select(side)
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("seq", "=", seq)
    .executeTakeFirst();
  if (r) return (r as Record<string, string>)[side];
  return gapLink(trx, device, stream, seq, side);
}

const linkAt = (trx: Transaction<DB>, device: string, stream: string, seq: number) =>
  storedLink(trx, device, stream, seq, "hash");
const prevAt = (trx: Transaction<DB>, device: string, stream: string, seq: number) =>
  storedLink(trx, device, stream, seq, "prev");

export function updateHead(st: StreamState, seq: number, hash: string, sig: string, added: number) {
  st.count += added;
  st.maxSeq = Math.max(st.maxSeq, seq);
  const headSeq = st.head?.seq ?? st.headSeq;
  if (headSeq === null || seq > headSeq) st.head = { seq, hash, sig };
}

/**
 * committed_seq: the highest seq such that every seq up to it is stored or covered by a recorded gap.
 * Ranges this transaction stored are skipped over without reading them back. When that reaches the
 * row's max_seq as read under the lock and this transaction stored no gap, nothing above is stored
 * (every record and gap raises max_seq in its own transaction), so there is nothing to read.
 */
export async function advanceCommitted(
  trx: Transaction<DB>,
  device: string,
  stream: string,
  st: StreamState,
  plain = false,
): Promise<number> {
  let c = st.committed;
  const known = [...st.stored].sort((a, b) => a[0] - b[0]);
  const skipKnown = () => {
    for (const [from, to] of known) if (from <= c + 1 && to > c) c = to;
  };
  skipKnown();
  if (!plain && c >= st.readMax && !st.gapsHere) return c;
  for (;;) {
    skipKnown();
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
    // The run may continue past this page only if the page was full.
    if (!moved || rows.length < 5000) break;
  }
  return c;
}
