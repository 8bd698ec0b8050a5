import { genesis, linkFromColumns } from "../chain.ts";
import { ERR_OUTBOX_CORRUPT } from "../errors.ts";
import {
  ANCHOR_EVERY,
  type LinkedRow,
  type OutboxParts,
  ROW,
  type RowData,
  type StreamState,
} from "./sqlite-layout.ts";

/**
 * The chain link at `seq` of `stream` (seq 0: the genesis). A stored link is used as it is (the
 * row's own hash, the next row's prev, the head); otherwise it is recomputed from the nearest stored
 * link before it and the rows after, and the recomputation is carried on to the next stored link
 * after `seq` and compared with it. A row altered or damaged on disk therefore throws
 * BL_OUTBOX_CORRUPT here, before anything derived from it is signed or sent.
 */
export function linkAt(ob: OutboxParts, stream: string, s: StreamState, seq: number): Buffer {
  if (seq === s.lastSeq) return s.lastHash;
  if (seq === 0) return genesis(ob.device, stream);
  const near = ob
    .stmt("SELECT seq, prev, hash FROM records WHERE sid = ? AND seq BETWEEN ? AND ?")
    .all(s.sid, seq, seq + 1) as Array<{ seq: number; prev: Buffer | null; hash: Buffer | null }>;
  for (const r of near) {
    if (r.seq === seq && r.hash) return r.hash;
    if (r.seq === seq + 1 && r.prev) return r.prev;
  }
  const damaged = (why: string) =>
    ERR_OUTBOX_CORRUPT(`outbox stream ${stream} near seq ${seq}: ${why}`, { stream, seq });
  const anchor = ob
    .stmt(
      "SELECT seq, prev, hash FROM records WHERE sid = ? AND seq <= ? AND (hash IS NOT NULL OR prev IS NOT NULL) ORDER BY seq DESC LIMIT 1",
    )
    .get(s.sid, seq) as { seq: number; prev: Buffer | null; hash: Buffer | null } | undefined;
  if (!anchor) throw damaged("no stored link before it");
  let cur = anchor.hash ?? anchor.prev!;
  const from = anchor.hash ? anchor.seq + 1 : anchor.seq;
  const rows = ob
    .stmt(`SELECT ${ROW}, prev, hash FROM records WHERE sid = ? AND seq >= ? ORDER BY seq LIMIT ?`)
    .all(s.sid, from, 4 * ANCHOR_EVERY) as LinkedRow[];
  let result: Buffer | undefined;
  let expect = from;
  for (const r of rows) {
    if (r.seq !== expect) break;
    if (r.prev && r.seq > from) {
      if (!r.prev.equals(cur))
        throw damaged(`records ${from}..${r.seq - 1} do not match the link stored at ${r.seq}`);
      if (result) return result;
    }
    cur = linkOfRow(ob, stream, r, cur);
    if (r.seq === seq) result = cur;
    if (r.hash) {
      if (!r.hash.equals(cur))
        throw damaged(`records ${from}..${r.seq} do not match the link stored at ${r.seq}`);
      if (result) return result;
    }
    expect++;
  }
  if (result && expect - 1 === s.lastSeq) {
    if (!cur.equals(s.lastHash))
      throw damaged(`records ${from}..${s.lastSeq} do not match the stream's head`);
    return result;
  }
  throw damaged(result ? "no stored link after it to check against" : "record missing");
}

/** A row's kind and boot id by name; an unknown number means the file is damaged. */
export function namesOf(ob: OutboxParts, stream: string, r: RowData): { kind: string; boot: string } {
  const kind = ob.kindNames.get(r.kid);
  const boot = ob.bootNames.get(r.bid);
  if (kind === undefined || boot === undefined)
    throw ERR_OUTBOX_CORRUPT(`outbox stream ${stream} seq ${r.seq}: unknown kind or boot id number`, {
      stream,
      seq: r.seq,
    });
  return { kind, boot };
}

export function linkOfRow(ob: OutboxParts, stream: string, r: RowData, prev: Buffer): Buffer {
  const { kind, boot } = namesOf(ob, stream, r);
  return linkFromColumns(
    prev,
    ob.device,
    stream,
    r.seq,
    kind,
    r.body,
    r.t_wall,
    boot,
    r.t_mono,
    r.t_synced === 1,
  );
}

/**
 * Recomputes every link of the stored records `from..to` from the link before `from` and checks it
 * against each link stored on the way and the link at `to`. The agent calls it when the cloud
 * refuses a batch as not chaining: a row altered outside the stretches linkAt recomputes is found
 * here, and the stream held. Rows already gone (acked meanwhile) end the check early.
 */
export function checkRange(ob: OutboxParts, stream: string, from: number, to: number): boolean {
  if (ob.damaged.has(stream)) return false;
  const s = ob.streams.get(stream);
  if (!s) return true;
  const damaged = (at: number) =>
    ERR_OUTBOX_CORRUPT(
      `outbox stream ${stream}: records ${from}..${at} do not match the link stored at ${at}`,
    );
  try {
    let cur = linkAt(ob, stream, s, from - 1);
    const end = linkAt(ob, stream, s, to);
    let expect = from;
    const rows = ob
      .stmt(`SELECT ${ROW}, prev, hash FROM records WHERE sid = ? AND seq BETWEEN ? AND ? ORDER BY seq`)
      .iterate(s.sid, from, to) as IterableIterator<LinkedRow>;
    for (const r of rows) {
      if (r.seq !== expect) return true;
      if (r.prev && r.seq > from && !r.prev.equals(cur)) throw damaged(r.seq);
      cur = linkOfRow(ob, stream, r, cur);
      if (r.hash && !r.hash.equals(cur)) throw damaged(r.seq);
      expect++;
    }
    if (expect === to + 1 && !cur.equals(end))
      throw ERR_OUTBOX_CORRUPT(
        `outbox stream ${stream}: records ${from}..${to} do not chain to the link at ${to}`,
      );
    return true;
  } catch (e) {
    ob.hold(stream, e);
    return false;
  }
}
