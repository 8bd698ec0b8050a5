import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { ERR_STORAGE } from "../../core/errors.ts";
import type { StreamStatus } from "./types.ts";

/** Reads per-stream status from an outbox file without taking it over (the agent may be running). */
export function readOutboxStatus(path: string): { device: string; streams: StreamStatus[] } {
  if (!existsSync(path)) throw ERR_STORAGE(`no outbox at ${path} (has the agent run with this config?)`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    const device =
      (db.prepare("SELECT value FROM meta WHERE key='device'").get() as { value: string } | undefined)
        ?.value ?? "?";
    const streams = db
      .prepare("SELECT stream, last_seq, acked_seq, evicted FROM streams ORDER BY stream")
      .all() as Array<{
      stream: string;
      last_seq: number;
      acked_seq: number;
      evicted: number;
    }>;
    // Layout 3 keys records by stream number; older files (before the agent upgraded them) by name.
    const numbered = (db.pragma("table_info(records)") as Array<{ name: string }>).some(
      (c) => c.name === "sid",
    );
    const counts = new Map(
      (
        db
          .prepare(
            numbered
              ? "SELECT s.stream, count(*) AS n, coalesce(sum(r.bytes),0) AS b FROM records r JOIN streams s USING (sid) GROUP BY s.stream"
              : "SELECT stream, count(*) AS n, coalesce(sum(bytes),0) AS b FROM records GROUP BY stream",
          )
          .all() as Array<{ stream: string; n: number; b: number }>
      ).map((c) => [c.stream, c]),
    );
    return {
      device,
      streams: streams.map((s) => ({
        stream: s.stream,
        lastSeq: s.last_seq,
        ackedSeq: s.acked_seq,
        pending: counts.get(s.stream)?.n ?? 0,
        pendingBytes: counts.get(s.stream)?.b ?? 0,
        evicted: s.evicted,
      })),
    };
  } finally {
    db.close();
  }
}
