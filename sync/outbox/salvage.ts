import { existsSync, renameSync } from "node:fs";
import Database from "better-sqlite3";
import { linkFromColumns } from "../chain.ts";
import { priorityOf } from "../kinds.ts";
import { salvagePages } from "./page-salvage.ts";

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

/** A stored record in a form independent of the file's layout (names, not numbers). */
export interface SalvagedRecord {
  stream: string;
  seq: number;
  kind: string;
  t_wall: number;
  t_boot: string;
  t_mono: number;
  t_synced: number;
  body: string;
  /** The link before this row where the file stored it (null where the row follows its predecessor). */
  prev: Buffer | null;
  /** This row's link where the file stored it (every row before layout 3). */
  hash: Buffer | null;
  bytes: number;
}

export interface Salvage {
  quarantined: string;
  heads: SalvagedHead[];
  /** Readable rows in (stream, seq) order with the links they stored; the outbox re-checks them. */
  records: SalvagedRecord[];
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
function readSalvage(quarantined: string): Salvage {
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
    // Layout 3 names streams, boot ids and kinds by number; older layouts store the names in each row.
    const numbered = tryAll(
      "records columns",
      () => (db.pragma("table_info(records)") as Array<{ name: string }>).some((c) => c.name === "sid"),
      false,
    );
    const names = (sql: string) =>
      new Map(
        tryAll(sql, () => db.prepare(sql).raw().all() as Array<[number, string]>, []).map(([id, n]) => [
          id,
          n,
        ]),
      );
    const streamOf = numbered ? names("SELECT sid, stream FROM streams") : new Map<number, string>();
    const boots = numbered ? names("SELECT bid, boot FROM boots") : new Map<number, string>();
    const kinds = numbered ? names("SELECT kid, kind FROM kinds") : new Map<number, string>();
    // Streams named in the streams table, plus any the records hold (a full scan: may hit a bad page).
    const keys: Array<string | number> = numbered
      ? [
          ...new Set([
            ...streamOf.keys(),
            ...tryAll(
              "record streams",
              () => db.prepare("SELECT DISTINCT sid FROM records").pluck().all() as number[],
              [],
            ),
          ]),
        ]
      : [
          ...new Set([
            ...out.heads.map((h) => h.stream),
            ...tryAll(
              "record streams",
              () => db.prepare("SELECT DISTINCT stream FROM records").pluck().all() as string[],
              [],
            ),
          ]),
        ];
    const page = tryAll(
      "records",
      () =>
        db.prepare(
          `SELECT * FROM records WHERE ${numbered ? "sid" : "stream"} = ? AND seq > ? ORDER BY seq LIMIT 500`,
        ),
      null,
    );
    let unnamed = 0;
    const neutral = (r: Record<string, unknown>): SalvagedRecord | undefined => {
      const stream = numbered ? streamOf.get(Number(r.sid)) : String(r.stream);
      const kind = numbered ? kinds.get(Number(r.kid)) : String(r.kind);
      const boot = numbered ? boots.get(Number(r.bid)) : String(r.t_boot);
      if (stream === undefined || kind === undefined || boot === undefined) {
        unnamed++;
        return undefined;
      }
      return {
        stream,
        seq: Number(r.seq),
        kind,
        t_wall: Number(r.t_wall),
        t_boot: boot,
        t_mono: Number(r.t_mono),
        t_synced: Number(r.t_synced),
        body: String(r.body),
        prev: (r.prev as Buffer | null) ?? null,
        hash: (r.hash as Buffer | null) ?? null,
        bytes: Number(r.bytes),
      };
    };
    for (const key of page ? keys : []) {
      let after = 0;
      let step = 1;
      const name = numbered ? streamOf.get(Number(key)) : String(key);
      const end = out.heads.find((h) => h.stream === name)?.lastSeq ?? Number.MAX_SAFE_INTEGER;
      for (let guard = 0; guard < 1_000_000 && after < end; guard++) {
        const rows = tryAll(
          `records ${name ?? key} after ${after}`,
          () => page!.all(key, after),
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
        for (const r of rows) {
          const n = neutral(r);
          if (n) out.records.push(n);
        }
        after = Number(rows.at(-1)!.seq);
      }
    }
    if (unnamed) out.errors.push(`${unnamed} record(s) whose stream, kind or boot id name was unreadable`);
    // Restore relies on (stream, seq) order.
    out.records.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.seq - b.seq));
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

/**
 * Moves a damaged outbox aside and salvages it: through SQLite first (readSalvage), and where that
 * fails anywhere (a destroyed header, a truncated file, damaged pages) page by page as well
 * (page-salvage.ts), keeping whichever read more.
 */
export function quarantineAndSalvage(path: string, now = new Date(), why = "corrupt"): Salvage {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const quarantined = `${path}.${why}-${stamp}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, quarantined + suffix);
  }
  const out = readSalvage(quarantined);
  if (out.errors.length === 0 || why === "old-layout" || !existsSync(quarantined)) return out;
  let pages: ReturnType<typeof salvagePages>;
  try {
    pages = salvagePages(quarantined);
  } catch (e) {
    out.errors.push(`page-level salvage: ${(e as Error).message}`);
    return out;
  }
  if (pages.records.length + pages.heads.length <= out.records.length + out.heads.length) return out;
  return {
    quarantined,
    heads: pages.heads,
    records: pages.records,
    gaps: pages.gaps,
    errors: [...out.errors, ...pages.errors],
  };
}

/**
 * Re-links salvaged rows from their content and checks them against every link the old file stored.
 * Rows that cannot be chained (after a damaged page, with no stored link to start from) or that
 * disagree with a stored link are left out (they stay in the quarantined file) and counted in
 * `s.errors`. Returns the rows to carry over with the prev to store (on the first row of each run)
 * and their link, and each stream's highest row carried over (and most urgent kind).
 */
export function relink(
  device: string,
  s: Salvage,
): {
  rows: Array<{ r: SalvagedRecord; prev: Buffer | null; hash: Buffer }>;
  top: Map<string, { seq: number; link: Buffer; priority: number }>;
} {
  const rows: Array<{ r: SalvagedRecord; prev: Buffer | null; hash: Buffer }> = [];
  const top = new Map<string, { seq: number; link: Buffer; priority: number }>();
  // Rows of a stream arrive in seq order. `chain` is the link of the last row kept (or taken from a
  // stored prev); `pending` holds rows whose recomputed links no stored link has confirmed yet: they
  // are kept when one does, or when their run ends with nothing left to check them against.
  let stream: string | undefined;
  let chain: { seq: number; link: Buffer } | undefined;
  let pending: typeof rows = [];
  let dropped = 0;
  let unchained = 0;
  const flush = () => {
    for (const p of pending) {
      rows.push(p);
      const priority = Math.min(top.get(p.r.stream)?.priority ?? Infinity, priorityOf(p.r.kind));
      top.set(p.r.stream, { seq: p.r.seq, link: p.hash, priority });
    }
    pending = [];
  };
  for (const r of s.records) {
    if (r.stream !== stream) {
      flush();
      stream = r.stream;
      chain = undefined;
    }
    const follows = chain !== undefined && chain.seq === r.seq - 1;
    if (!follows) flush();
    let prev: Buffer;
    if (r.prev) {
      if (follows && !r.prev.equals(chain!.link)) {
        // The rows since the last confirmed link disagree with this stored one: drop them.
        dropped += pending.length;
        pending = [];
      } else flush();
      prev = r.prev;
    } else if (follows) prev = chain!.link;
    else {
      unchained++;
      chain = undefined;
      continue;
    }
    const hash = linkFromColumns(
      prev,
      device,
      r.stream,
      r.seq,
      r.kind,
      r.body,
      r.t_wall,
      r.t_boot,
      r.t_mono,
      r.t_synced === 1,
    );
    if (r.hash && !r.hash.equals(hash)) {
      dropped += pending.length + 1;
      pending = [];
      chain = undefined;
      continue;
    }
    // The first row of a run keeps its prev; the others chain from the row before.
    pending.push({ r, prev: follows && !r.prev ? null : prev, hash });
    if (r.hash) flush();
    chain = { seq: r.seq, link: hash };
  }
  flush();
  if (unchained) s.errors.push(`${unchained} record(s) after a damaged page have no link to chain from`);
  if (dropped) s.errors.push(`${dropped} record(s) did not match the links stored after them`);
  return { rows, top };
}
