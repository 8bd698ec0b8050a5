import type { OutboxParts } from "./sqlite-layout.ts";
import { linkAt } from "./sqlite-links.ts";

/**
 * The cloud committed `stream` `from..to` whose last link is `hash`: deletes them (or the gap) in one
 * transaction, keeping the links the surviving neighbours need. -1 when `hash` is not the link held.
 */
export function acknowledgeRange(
  ob: OutboxParts,
  stream: string,
  from: number,
  to: number,
  hash: Buffer,
): number {
  const s = ob.streams.get(stream);
  if (!s) return 0;
  type Result = { deleted: number; bytes: number; mismatch: boolean; acked?: number };
  const tx = (): Result => {
    const gap = ob
      .stmt("SELECT hash FROM gaps WHERE stream=? AND from_seq=? AND to_seq=?")
      .get(stream, from, to) as { hash: Buffer } | undefined;
    if (gap) {
      if (!gap.hash.equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
      ob.stmt("DELETE FROM gaps WHERE stream=? AND from_seq=?").run(stream, from);
      return { deleted: 0, bytes: 0, mismatch: false };
    }
    const exists = (seq: number) =>
      ob.stmt("SELECT hash FROM records WHERE sid=? AND seq=?").get(s.sid, seq) as
        | { hash: Buffer | null }
        | undefined;
    if (!exists(to)) return { deleted: 0, bytes: 0, mismatch: false };
    // The ack must name the link we hold at `to`; anything else is not about our records.
    if (!linkAt(ob, stream, s, to).equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
    // Acked out of order (rows below stay): the row before the range keeps its own link, so links
    // below it can still be checked against a stored one.
    const below = exists(from - 1);
    if (below && !below.hash)
      ob.stmt("UPDATE records SET hash=? WHERE sid=? AND seq=?").run(
        linkAt(ob, stream, s, from - 1),
        s.sid,
        from - 1,
      );
    const agg = ob
      .stmt(
        "SELECT count(*) AS n, coalesce(sum(bytes),0) AS b FROM records WHERE sid=? AND seq BETWEEN ? AND ?",
      )
      .get(s.sid, from, to) as { n: number; b: number };
    ob.stmt("DELETE FROM records WHERE sid=? AND seq BETWEEN ? AND ?").run(s.sid, from, to);
    // The row after the range loses its predecessor: it keeps the link itself.
    ob.stmt("UPDATE records SET prev=? WHERE sid=? AND seq=? AND prev IS NULL").run(hash, s.sid, to + 1);
    const acked = Math.max(s.ackedSeq, to);
    ob.stmt("UPDATE streams SET acked_seq=? WHERE sid=?").run(acked, s.sid);
    return { deleted: agg.n, bytes: agg.b, mismatch: false, acked };
  };
  let r: Result;
  try {
    r = ob.inTx(tx);
  } catch (e) {
    ob.hold(stream, e);
    return 0;
  }
  if (r.mismatch) return -1;
  s.pending -= r.deleted;
  s.pendingBytes -= r.bytes;
  ob.totalBytes -= r.bytes;
  if (r.acked !== undefined) s.ackedSeq = r.acked;
  if (r.deleted > 0 && to >= s.lastSeq) s.tail = false;
  return r.deleted;
}
