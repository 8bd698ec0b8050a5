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
 * Frees at least `need` bytes by deleting the oldest evictable records: media first, then
 * telemetry; alarms and evidence never. Each contiguous run deleted becomes a gap row carrying the
 * link before its first seq and the link at its last, so the chain still verifies across it and the
 * cloud learns the exact range, count and reason. Runs in the caller's transaction.
 */
export function evictOldest(db: Database.Database, need: number, reason: string): EvictedRange[] {
  const out: EvictedRange[] = [];
  let freed = 0;
  // Oldest first within a class: the stream whose first pending evictable record is oldest.
  const oldest = db.prepare(
    `SELECT r.stream AS stream, r.seq AS seq FROM
       (SELECT stream, min(seq) AS seq FROM records WHERE priority = ? GROUP BY stream) m
       JOIN records r ON r.stream = m.stream AND r.seq = m.seq ORDER BY r.t_wall, r.stream LIMIT 1`,
  );
  const run = db.prepare(
    "SELECT seq, priority, bytes, prev, hash FROM records WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
  );
  const del = db.prepare("DELETE FROM records WHERE stream = ? AND seq BETWEEN ? AND ?");
  const gap = db.prepare(
    "INSERT INTO gaps(stream, from_seq, to_seq, count, reason, prev, hash, priority) VALUES (?,?,?,?,?,?,?,?)",
  );
  const bump = db.prepare("UPDATE streams SET evicted = evicted + ? WHERE stream = ?");
  for (const prio of [PRIORITY.media, PRIORITY.telemetry]) {
    while (freed < need) {
      const start = oldest.get(prio) as { stream: string; seq: number } | undefined;
      if (!start) break;
      const rows = run.all(start.stream, start.seq, STEP) as Array<{
        seq: number;
        priority: number;
        bytes: number;
        prev: Buffer;
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
      const first = rows[0]!;
      const last = rows[n - 1]!;
      del.run(start.stream, first.seq, last.seq);
      gap.run(start.stream, first.seq, last.seq, n, reason, first.prev, last.hash, prio);
      bump.run(n, start.stream);
      out.push({ stream: start.stream, from: first.seq, to: last.seq, count: n, bytes });
      freed += bytes;
    }
  }
  return out;
}
