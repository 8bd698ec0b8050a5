import { existsSync, renameSync } from "node:fs";
import Database from "better-sqlite3";

/** SQLite result codes that mean the file itself is damaged, not that it is busy or full. */
export function isCorruption(e: unknown): boolean {
  const code = (e as { code?: string; details?: { sqliteCode?: string } })?.code;
  const inner = (e as { details?: { sqliteCode?: string } })?.details?.sqliteCode;
  return [code, inner].some(
    (c) => c === "SQLITE_CORRUPT" || c === "SQLITE_NOTADB" || c?.startsWith("SQLITE_CORRUPT_"),
  );
}

export interface SalvagedHead {
  stream: string;
  lastSeq: number;
  lastHash: Buffer;
  ackedSeq: number;
  evicted: number;
  priority: number;
}

export interface Salvage {
  quarantined: string;
  heads: SalvagedHead[];
  /**
   * Rows exactly as stored (seq, prev, hash unchanged): they re-enter the fresh outbox as they were.
   * `prev` is null on a row that follows its predecessor (layout 2).
   */
  records: Array<Record<string, unknown>>;
  gaps: Array<Record<string, unknown>>;
  /** Tables or pages that could not be read. */
  errors: string[];
}

/**
 * Moves a corrupt outbox aside (never deletes it: it is evidence, and a forensic copy) and reads
 * whatever still reads: stream heads first (so each stream's seq and chain continue where they were
 * and the cloud never sees a reused seq with other content), then records page by page, skipping
 * pages that fail. Greengrass's disk spooler deletes the database here; we do not.
 */
export function quarantineAndSalvage(path: string, now = new Date(), why = "corrupt"): Salvage {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const quarantined = `${path}.${why}-${stamp}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, quarantined + suffix);
  }
  const out: Salvage = { quarantined, heads: [], records: [], gaps: [], errors: [] };
  let db: Database.Database;
  try {
    db = new Database(quarantined, { fileMustExist: true });
  } catch (e) {
    out.errors.push(`open: ${(e as Error).message}`);
    return out;
  }
  const tryAll = <T>(what: string, fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (e) {
      out.errors.push(`${what}: ${(e as Error).message}`);
      return fallback;
    }
  };
  try {
    const heads = tryAll(
      "streams",
      () => db.prepare("SELECT * FROM streams").all() as Array<Record<string, unknown>>,
      [],
    );
    for (const h of heads) {
      out.heads.push({
        stream: String(h.stream),
        lastSeq: Number(h.last_seq),
        lastHash: h.last_hash as Buffer,
        ackedSeq: Number(h.acked_seq ?? 0),
        evicted: Number(h.evicted ?? 0),
        priority: Number(h.priority ?? 2),
      });
    }
    const streams = new Set(out.heads.map((h) => h.stream));
    for (const s of tryAll(
      "record streams",
      () => db.prepare("SELECT DISTINCT stream FROM records").all() as Array<{ stream: string }>,
      [],
    ))
      streams.add(s.stream);
    const page = tryAll(
      "records",
      () => db.prepare("SELECT * FROM records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT 500"),
      null,
    );
    for (const stream of page ? streams : []) {
      let after = 0;
      let step = 1;
      const end = out.heads.find((h) => h.stream === stream)?.lastSeq ?? Number.MAX_SAFE_INTEGER;
      for (let guard = 0; guard < 1_000_000 && after < end; guard++) {
        const rows = tryAll(
          `records ${stream} after ${after}`,
          () => page!.all(stream, after),
          null,
        ) as Array<Record<string, unknown>> | null;
        if (rows === null) {
          // A bad page: step over it, doubling the step while reads keep failing (bounded time).
          after += step;
          step = Math.min(step * 2, 4096);
          continue;
        }
        step = 1;
        if (rows.length === 0) break;
        out.records.push(...rows);
        after = Number(rows.at(-1)!.seq);
      }
    }
    out.gaps = tryAll(
      "gaps",
      () => db.prepare("SELECT * FROM gaps").all() as Array<Record<string, unknown>>,
      [],
    );
  } finally {
    db.close();
  }
  return out;
}
