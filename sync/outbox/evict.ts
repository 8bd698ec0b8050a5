import type Database from "better-sqlite3";
import { PRIORITY } from "../kinds.ts";

export interface EvictedRange {
  stream: string;
  from: number;
  to: number;
  count: number;
  bytes: number;
}

/** Rows per eviction step: bounds one transaction's time and WAL growth. */
const STEP = 20_000;

/**
 * Frees at least `need` bytes by deleting the oldest evictable records: media streams first, then
 * telemetry; alarms and evidence never (a stream's priority is its most urgent kind, so a stream
 * holding any of those is never a candidate, and each row's own priority is checked again). Each
 * contiguous run deleted becomes a gap row carrying the link before its first seq and the link at
 * its last, so the chain still verifies across it and the cloud learns the exact range, count and
 * reason. Walks streams and rows by primary key (no priority index). Runs in the caller's transaction.
 */
export function evictOldest(db: Database.Database, need: number, reason: string): EvictedRange[] {
  const out: EvictedRange[] = [];
  let freed = 0;
  const candidates = db.prepare("SELECT stream FROM streams WHERE priority = ? ORDER BY stream");
  const head = db.prepare("SELECT seq, t_wall FROM records WHERE stream = ? ORDER BY seq LIMIT 1");
  const run = db.prepare(
    "SELECT seq, priority, bytes, prev, hash FROM records WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
  );
  const before = db.prepare("SELECT hash FROM records WHERE stream = ? AND seq = ?");
  const del = db.prepare("DELETE FROM records WHERE stream = ? AND seq BETWEEN ? AND ?");
  // The row after an evicted run loses its predecessor: it keeps the link itself.
  const relink = db.prepare("UPDATE records SET prev = ? WHERE stream = ? AND seq = ? AND prev IS NULL");
  const gap = db.prepare(
    "INSERT INTO gaps(stream, from_seq, to_seq, count, reason, prev, hash, priority) VALUES (?,?,?,?,?,?,?,?)",
  );
  const bump = db.prepare("UPDATE streams SET evicted = evicted + ? WHERE stream = ?");
  for (const prio of [PRIORITY.media, PRIORITY.telemetry]) {
    while (freed < need) {
      // Oldest first within a class: the stream whose first pending record is oldest.
      let start: { stream: string; seq: number; t_wall: number } | undefined;
      for (const { stream } of candidates.all(prio) as Array<{ stream: string }>) {
        const h = head.get(stream) as { seq: number; t_wall: number } | undefined;
        if (h && (!start || h.t_wall < start.t_wall)) start = { stream, ...h };
      }
      if (!start) break;
      const rows = run.all(start.stream, start.seq, STEP) as Array<{
        seq: number;
        priority: number;
        bytes: number;
        prev: Buffer | null;
        hash: Buffer;
      }>;
      // Only a contiguous run of evictable records: a gap never swallows evidence or an acked hole.
      let n = 0;
      let bytes = 0;
      for (const r of rows) {
        if (r.priority < PRIORITY.telemetry || r.seq !== start.seq + n) break;
        n++;
        bytes += r.bytes;
        if (freed + bytes >= need) break;
      }
      if (n === 0) break;
      const first = rows[0]!;
      const last = rows[n - 1]!;
      const prev =
        first.prev ?? (before.get(start.stream, first.seq - 1) as { hash: Buffer } | undefined)?.hash;
      if (!prev) throw new Error(`no link before ${start.stream} seq ${first.seq}`);
      del.run(start.stream, first.seq, last.seq);
      relink.run(last.hash, start.stream, last.seq + 1);
      gap.run(start.stream, first.seq, last.seq, n, reason, prev, last.hash, prio);
      bump.run(n, start.stream);
      out.push({ stream: start.stream, from: first.seq, to: last.seq, count: n, bytes });
      freed += bytes;
    }
  }
  return out;
}
