import type { OutboxParts, StreamState } from "./sqlite-layout.ts";

/** Reads the name tables, each stream's head and its pending counts into memory (at open). */
export function loadState(ob: OutboxParts) {
  for (const b of ob.db.prepare("SELECT bid, boot FROM boots").all() as Array<{
    bid: number;
    boot: string;
  }>) {
    ob.bootIds.set(b.boot, b.bid);
    ob.bootNames.set(b.bid, b.boot);
  }
  for (const k of ob.db.prepare("SELECT kid, kind FROM kinds").all() as Array<{
    kid: number;
    kind: string;
  }>)
    ob.learnKind(k.kind, k.kid);
  const rows = ob.db.prepare("SELECT * FROM streams").all() as Array<{
    sid: number;
    stream: string;
    last_seq: number;
    last_hash: Buffer;
    acked_seq: number;
    evicted: number;
    priority: number;
  }>;
  const bySid = new Map<number, StreamState>();
  for (const r of rows) {
    const s: StreamState = {
      sid: r.sid,
      lastSeq: r.last_seq,
      lastHash: r.last_hash,
      ackedSeq: r.acked_seq,
      evicted: r.evicted,
      priority: r.priority,
      pending: 0,
      pendingBytes: 0,
      tail: false,
    };
    ob.streams.set(r.stream, s);
    bySid.set(r.sid, s);
  }
  const stored = ob.db.prepare("SELECT 1 FROM records WHERE sid = ? AND seq = ?").pluck();
  for (const s of bySid.values()) s.tail = stored.get(s.sid, s.lastSeq) !== undefined;
  const counts = ob.db
    .prepare("SELECT sid, count(*) AS n, sum(bytes) AS b FROM records GROUP BY sid")
    .all() as Array<{ sid: number; n: number; b: number }>;
  for (const c of counts) {
    const s = bySid.get(c.sid);
    if (s) {
      s.pending = c.n;
      s.pendingBytes = c.b;
    }
    ob.totalBytes += c.b;
  }
}
