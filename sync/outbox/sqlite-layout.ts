import Database from "better-sqlite3";
import { ERR_STORAGE } from "../../core/errors.ts";
import type { SqliteOutboxOptions } from "./sqlite-outbox.ts";

/**
 * Layout version, kept in PRAGMA user_version.
 * 2: a row stores `prev` only where its predecessor may be missing; no priority index.
 * 3: normalised and sparse. Streams, boot ids and kinds are small integers (`sid`, `bid`, `kid`) with
 *    their names in `streams`, `boots` and `kinds`, so a row no longer repeats a 36-character boot id
 *    and the stream name; the link (`hash`) is still computed for every row inside the append
 *    transaction, but stored only on the last row of each stream in each append call (and where a row
 *    must stand for a deleted neighbour): the links in between are recomputed from the rows and
 *    checked against the next stored link (linkAt), so a row altered on disk is caught before it is
 *    signed. A file of an older layout is moved aside and carried over into a fresh one (constructor).
 */
export const OUTBOX_LAYOUT = 3;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams(
  sid INTEGER PRIMARY KEY, stream TEXT NOT NULL UNIQUE, last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0, evicted INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS boots(bid INTEGER PRIMARY KEY, boot TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS kinds(kid INTEGER PRIMARY KEY, kind TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS records(
  sid INTEGER NOT NULL, seq INTEGER NOT NULL, kid INTEGER NOT NULL,
  t_wall INTEGER NOT NULL, t_mono INTEGER NOT NULL, bid INTEGER NOT NULL, t_synced INTEGER NOT NULL,
  body TEXT NOT NULL, prev BLOB, hash BLOB, bytes INTEGER NOT NULL,
  PRIMARY KEY(sid, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commands(id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps(
  stream TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT NOT NULL,
  prev BLOB NOT NULL, hash BLOB NOT NULL, priority INTEGER NOT NULL, count INTEGER,
  PRIMARY KEY(stream, from_seq));
PRAGMA user_version = ${OUTBOX_LAYOUT};
`;

const OLD_LAYOUT = "BL_OUTBOX_OLD_LAYOUT";
export const isOldLayout = (e: unknown) =>
  (e as { details?: { sqliteCode?: string } })?.details?.sqliteCode === OLD_LAYOUT;

/** Rows between two stored links are at most this far apart (prev every 64th seq): bounds linkAt. */
export const ANCHOR_EVERY = 64;

export interface StreamState {
  sid: number;
  lastSeq: number;
  lastHash: Buffer;
  ackedSeq: number;
  evicted: number;
  priority: number;
  pending: number;
  pendingBytes: number;
  /** The stream's last row is still stored (its link with it): the next append can chain from it. */
  tail: boolean;
}

/** Placeholder until a run's end links are read. */
export const NO_LINK = Buffer.alloc(0);

/** The columns of a row that make its record (and so its link). */
export const ROW = "seq, kid, t_wall, t_mono, bid, t_synced, body";

/** A row with its stored links, as linkAt and check read it. */
export type LinkedRow = RowData & { prev: Buffer | null; hash: Buffer | null };

/** A row as the drain and linkAt read it. */
export interface RowData {
  seq: number;
  kid: number;
  t_wall: number;
  t_mono: number;
  bid: number;
  t_synced: number;
  body: string;
  bytes: number;
}

/**
 * What the SQLite outbox's role files (links, quota, pending, ack, restore, state) share of it: the
 * file, the per-stream state in memory, the name tables, prepared statements. SqliteOutbox is the
 * one implementation; nothing outside sync/outbox/ uses this.
 */
export interface OutboxParts {
  readonly db: Database.Database;
  readonly device: string;
  readonly path: string;
  readonly opts: SqliteOutboxOptions;
  readonly streams: Map<string, StreamState>;
  readonly damaged: Map<string, string>;
  readonly bootIds: Map<string, number>;
  readonly bootNames: Map<number, string>;
  readonly kindIds: Map<string, number>;
  readonly kindNames: Map<number, string>;
  readonly kindPriority: Map<number, number>;
  readonly insert: Database.Statement;
  readonly newStream: Database.Statement;
  totalBytes: number;
  full: boolean;
  diskCheckedAt: number;
  freeDisk: number;
  stmt(sql: string): Database.Statement;
  /** Runs `fn` in one transaction (a savepoint inside another); the wrapper is made once per outbox. */
  inTx<T>(fn: () => T): T;
  hold(stream: string, e: unknown): void;
  learnKind(kind: string, kid: number): void;
}

/** Opens (or creates) the outbox file: WAL, pragmas, the quick check, the layout check, the schema. */
export function openOutboxFile(path: string, check: boolean): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    // 4 MiB of page cache, not better-sqlite3's 16 MiB default: the outbox is read and written in
    // key order, and a gateway's memory is better left to the OS page cache.
    db.pragma("cache_size = -4096");
    if (check) {
      const r = db.pragma("quick_check(1)", { simple: true });
      if (r !== "ok") throw Object.assign(new Error(`quick_check: ${r}`), { code: "SQLITE_CORRUPT" });
    }
    const layout = Number(db.pragma("user_version", { simple: true }));
    const used = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'records'").get() !== undefined;
    if (used && layout !== OUTBOX_LAYOUT) {
      throw Object.assign(new Error(`file layout ${layout}, this build reads layout ${OUTBOX_LAYOUT}`), {
        code: layout < OUTBOX_LAYOUT ? OLD_LAYOUT : "BL_OUTBOX_NEWER_LAYOUT",
      });
    }
    db.exec(SCHEMA);
    return db;
  } catch (e) {
    db?.close();
    throw ERR_STORAGE(
      `outbox ${path}: ${(e as Error).message}`,
      { sqliteCode: (e as { code?: string }).code },
      e,
    );
  }
}
