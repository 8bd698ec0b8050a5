import type Database from "better-sqlite3";
import { PRIORITY } from "../kinds.ts";

export interface EvictedRange {
  stream: string;
  from: number;
  to: number;
  count: number;
  bytes: number;
}

export interface EvictContext {
  /** The outbox's streams (damaged ones left out): name, row id and most urgent kind held. */
  streams: Array<{ stream: string; sid: number; priority: number }>;
  /** The priority class of a stored kind number. */
  priorityOfKid(kid: number): number;
  /** The chain link at a stored seq (checked), or undefined if the stream failed its check and is held. */
  linkAt(stream: string, seq: number): Buffer | undefined;
}

/** Rows per eviction step: bounds one transaction's time and WAL growth. */
const STEP = 20_000;

/**
 * Frees at least `need` bytes by deleting the oldest evictable records: media streams first, then
 * telemetry; alarms and evidence never (a stream's priority is its most urgent kind, so a stream
 * holding any of those is never a candidate, and each row's own kind is checked again). Each
 * contiguous run deleted becomes a gap row carrying the link before its first seq and the link at
 * its last, so the chain still verifies across it and the cloud learns the exact range, count and
 * reason. Walks streams and rows by primary key (no priority index). Runs in the caller's transaction.
 */
export function evictOldest(
  db: Database.Database,
  need: number,
  reason: string,
  ctx: EvictContext,
): EvictedRange[] {
  const out: EvictedRange[] = [];
  let freed = 0;
  const head = db.prepare("SELECT seq, t_wall FROM records WHERE sid = ? ORDER BY seq LIMIT 1");
  const run = db.prepare(
    "SELECT seq, kid, bytes FROM records WHERE sid = ? AND seq >= ? ORDER BY seq LIMIT ?",
  );
  const del = db.prepare("DELETE FROM records WHERE sid = ? AND seq BETWEEN ? AND ?");
  // The row after an evicted run loses its predecessor: it keeps the link itself.
  const relink = db.prepare("UPDATE records SET prev = ? WHERE sid = ? AND seq = ? AND prev IS NULL");
  const gap = db.prepare(
    "INSERT INTO gaps(stream, from_seq, to_seq, count, reason, prev, hash, priority) VALUES (?,?,?,?,?,?,?,?)",
  );
  const bump = db.prepare("UPDATE streams SET evicted = evicted + ? WHERE sid = ?");
  const held = new Set<number>();
  for (const prio of [PRIORITY.media, PRIORITY.telemetry]) {
    while (freed < need) {
      // Oldest first within a class: the stream whose first pending record is oldest.
      let start: { stream: string; sid: number; seq: number; t_wall: number } | undefined;
      for (const c of ctx.streams) {
        if (c.priority !== prio || held.has(c.sid)) continue;
        const h = head.get(c.sid) as { seq: number; t_wall: number } | undefined;
        if (h && (!start || h.t_wall < start.t_wall)) start = { stream: c.stream, sid: c.sid, ...h };
      }
      if (!start) break;
      const rows = run.all(start.sid, start.seq, STEP) as Array<{ seq: number; kid: number; bytes: number }>;
      // Only a contiguous run of evictable records: a gap never swallows evidence or an acked hole.
      let n = 0;
      let bytes = 0;
      for (const r of rows) {
        if (ctx.priorityOfKid(r.kid) < PRIORITY.telemetry || r.seq !== start.seq + n) break;
        n++;
        bytes += r.bytes;
        if (freed + bytes >= need) break;
      }
      if (n === 0) break;
      const first = start.seq;
      const last = start.seq + n - 1;
      const prev = ctx.linkAt(start.stream, first - 1);
      const hash = prev && ctx.linkAt(start.stream, last);
      if (!prev || !hash) {
        held.add(start.sid);
        continue;
      }
      del.run(start.sid, first, last);
      relink.run(hash, start.sid, last + 1);
      gap.run(start.stream, first, last, n, reason, prev, hash, prio);
      bump.run(n, start.sid);
      out.push({ stream: start.stream, from: first, to: last, count: n, bytes });
      freed += bytes;
    }
  }
  return out;
}
