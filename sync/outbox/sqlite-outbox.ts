import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { monoMs } from "../../core/clock.ts";
import { ERR_BAD_RECORD, ERR_STORAGE } from "../../core/errors.ts";
import { genesis, linkFromParts } from "../chain.ts";
import { ERR_OUTBOX_FULL } from "../errors.ts";
import {
  bodyIssue,
  canonicalBody,
  canonicalReading,
  isKind,
  isPlainReading,
  PRIORITY,
  priorityOf,
} from "../kinds.ts";
import { type EvictedRange, evictOldest } from "./evict.ts";
import { isCorruption, quarantineAndSalvage, type Salvage } from "./salvage.ts";
import {
  type AppendedRef,
  type AppendInput,
  type BatchLimits,
  gapKey,
  type Outbox,
  type PendingItem,
  type PendingRun,
  type StreamStatus,
} from "./types.ts";

/**
 * Layout version, kept in PRAGMA user_version. 2: no per-row `prev` (a row's prev is the hash of the
 * row before it; only a row whose predecessor is not stored carries it) and no priority index
 * (eviction walks the evictable streams by primary key). A file of another layout is moved aside and
 * salvaged into a fresh one (see the constructor); no gateway ran layout 1 in the field.
 */
export const OUTBOX_LAYOUT = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams(
  stream TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0, evicted INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  stream TEXT NOT NULL, seq INTEGER NOT NULL, priority INTEGER NOT NULL, kind TEXT NOT NULL,
  t_wall INTEGER NOT NULL, t_boot TEXT NOT NULL, t_mono INTEGER NOT NULL, t_synced INTEGER NOT NULL,
  body TEXT NOT NULL, prev BLOB, hash BLOB NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY(stream, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commands(id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps(
  stream TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT NOT NULL,
  prev BLOB NOT NULL, hash BLOB NOT NULL, priority INTEGER NOT NULL, count INTEGER,
  PRIMARY KEY(stream, from_seq));
PRAGMA user_version = ${OUTBOX_LAYOUT};
`;

const OLD_LAYOUT = "BL_OUTBOX_OLD_LAYOUT";
const isOldLayout = (e: unknown) =>
  (e as { details?: { sqliteCode?: string } })?.details?.sqliteCode === OLD_LAYOUT;

const INSERT_RECORDS =
  "INSERT INTO records(stream, seq, priority, kind, t_wall, t_boot, t_mono, t_synced, body, prev, hash, bytes) VALUES";

interface StreamState {
  lastSeq: number;
  lastHash: Buffer;
  ackedSeq: number;
  evicted: number;
  priority: number;
  pending: number;
  pendingBytes: number;
}

/** Placeholder until a run's end links are read. */
const NO_LINK = Buffer.alloc(0);

type PendingRow = Pick<
  RecordRow,
  "seq" | "priority" | "kind" | "t_wall" | "t_boot" | "t_mono" | "t_synced" | "body" | "bytes"
>;

interface RecordRow {
  stream: string;
  seq: number;
  priority: number;
  kind: string;
  t_wall: number;
  t_boot: string;
  t_mono: number;
  t_synced: number;
  body: string;
  prev: Buffer;
  hash: Buffer;
  bytes: number;
}

export interface SqliteOutboxOptions {
  /** Validate bodies against their kind's schema on append (default true). */
  validate?: boolean;
  /** Pending bytes (the records' canonical size + 64 each) above which media, then telemetry, is evicted. */
  quota?: number;
  /** Free bytes on the outbox's filesystem below which evictable data goes and evidence is refused. */
  minFreeDisk?: number;
  /** Free bytes on the filesystem holding `dir` (tests pass a fake). */
  freeDisk?: (dir: string) => number;
  /** Told when the outbox becomes full (only never-evict data over quota) or recovers, and of each eviction. */
  onStorage?: (e: StorageEvent) => void;
  /** Run PRAGMA quick_check on open (default true): finds a damaged file before it is written to. */
  check?: boolean;
}

export type StorageEvent =
  | { type: "full"; active: boolean; pendingBytes: number; freeDisk: number }
  | { type: "evicted"; ranges: EvictedRange[] };

const freeDiskOf = (dir: string) => {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/**
 * The outbox on SQLite (better-sqlite3, WAL). Each append call is one transaction: the chain link of
 * every record is computed inside it, so a crash can never leave a record stored without its link or
 * a link that skips a record.
 */
export class SqliteOutbox implements Outbox {
  readonly db: Database.Database;
  private readonly streams = new Map<string, StreamState>();
  private readonly validate: boolean;
  private readonly insert: Database.Statement;
  private readonly upsertStream: Database.Statement;
  /** Set when this outbox was started from a quarantined corrupt file (the agent raises an alarm). */
  readonly recovery?: Omit<Salvage, "records" | "gaps"> & { records: number; gaps: number };
  /** Records refused because the outbox was full (telemetry/media) or below the disk floor (evidence). */
  refused = 0;
  private totalBytes = 0;
  private full = false;
  private diskCheckedAt = -Infinity;
  private freeDisk = Infinity;

  constructor(
    readonly path: string,
    readonly device: string,
    private readonly opts: SqliteOutboxOptions = {},
  ) {
    this.validate = opts.validate ?? true;
    let salvage: Salvage | undefined;
    try {
      this.db = this.open(path, opts.check ?? true);
    } catch (e) {
      const oldLayout = isOldLayout(e);
      if (!isCorruption(e) && !oldLayout) throw e;
      // Never delete a damaged outbox: move it aside, keep what reads, carry on in a fresh file. A
      // file of the previous layout takes the same path: its rows, seqs and links carry over.
      salvage = quarantineAndSalvage(path, new Date(), oldLayout ? "old-layout" : "corrupt");
      this.db = this.open(path, false);
    }
    const owner = this.db.prepare("SELECT value FROM meta WHERE key='device'").get() as
      | { value: string }
      | undefined;
    if (!owner) this.db.prepare("INSERT INTO meta(key, value) VALUES ('device', ?)").run(device);
    else if (owner.value !== device) {
      throw ERR_STORAGE(`outbox ${path} belongs to device '${owner.value}', not '${device}'`);
    }
    this.insert = this.db.prepare(`${INSERT_RECORDS} (?,?,?,?,?,?,?,?,?,?,?,?)`);
    this.upsertStream = this.db.prepare(
      "INSERT INTO streams(stream, last_seq, last_hash, priority) VALUES (?,?,?,?) ON CONFLICT(stream) DO UPDATE SET last_seq=excluded.last_seq, last_hash=excluded.last_hash",
    );
    if (salvage) {
      this.restore(salvage);
      const { records, gaps, ...rest } = salvage;
      this.recovery = { ...rest, records: records.length, gaps: gaps.length };
    }
    this.loadState();
  }

  private open(path: string, check: boolean): Database.Database {
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

  /** Writes salvaged heads, records and gaps into the fresh file, unchanged (seqs and links continue). */
  private restore(s: Salvage) {
    const cols = [
      "stream",
      "seq",
      "priority",
      "kind",
      "t_wall",
      "t_boot",
      "t_mono",
      "t_synced",
      "body",
      "prev",
      "hash",
      "bytes",
    ];
    const gcols = ["stream", "from_seq", "to_seq", "reason", "prev", "hash", "priority", "count"];
    this.db.transaction(() => {
      const heads = new Map(s.heads.map((h) => [h.stream, h]));
      // A stream seen only in records: its head is its highest salvaged record.
      for (const r of s.records) {
        const h = heads.get(String(r.stream));
        if (!h || Number(r.seq) > h.lastSeq)
          heads.set(String(r.stream), {
            stream: String(r.stream),
            lastSeq: Number(r.seq),
            lastHash: r.hash as Buffer,
            ackedSeq: h?.ackedSeq ?? 0,
            evicted: h?.evicted ?? 0,
            priority: Number(r.priority),
          });
      }
      const hs = this.db.prepare(
        "INSERT INTO streams(stream, last_seq, last_hash, acked_seq, evicted, priority) VALUES (?,?,?,?,?,?)",
      );
      for (const h of heads.values())
        hs.run(h.stream, h.lastSeq, h.lastHash, h.ackedSeq, h.evicted, h.priority);
      // A row whose predecessor was lost (a damaged page) and that carries no prev of its own
      // cannot be chained: it stays in the quarantined file only.
      let kept: { stream: unknown; seq: number } | undefined;
      let unchained = 0;
      for (const r of s.records) {
        const seq = Number(r.seq);
        const follows = kept !== undefined && kept.stream === r.stream && kept.seq === seq - 1;
        if (r.prev == null && !follows) {
          unchained++;
          continue;
        }
        this.insert.run(...cols.map((c) => r[c] ?? null));
        kept = { stream: r.stream, seq };
      }
      if (unchained) s.errors.push(`${unchained} record(s) after a damaged page have no link to chain from`);
      const g = this.db.prepare(
        `INSERT OR IGNORE INTO gaps(${gcols.join(",")}) VALUES (${gcols.map(() => "?").join(",")})`,
      );
      for (const r of s.gaps) g.run(...gcols.map((c) => r[c] ?? null));
      this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('recovered', ?)").run(s.quarantined);
    })();
  }

  private loadState() {
    const rows = this.db.prepare("SELECT * FROM streams").all() as Array<{
      stream: string;
      last_seq: number;
      last_hash: Buffer;
      acked_seq: number;
      evicted: number;
      priority: number;
    }>;
    for (const r of rows) {
      this.streams.set(r.stream, {
        lastSeq: r.last_seq,
        lastHash: r.last_hash,
        ackedSeq: r.acked_seq,
        evicted: r.evicted,
        priority: r.priority,
        pending: 0,
        pendingBytes: 0,
      });
    }
    const counts = this.db
      .prepare("SELECT stream, count(*) AS n, sum(bytes) AS b FROM records GROUP BY stream")
      .all() as Array<{ stream: string; n: number; b: number }>;
    for (const c of counts) {
      const s = this.streams.get(c.stream);
      if (s) {
        s.pending = c.n;
        s.pendingBytes = c.b;
      }
      this.totalBytes += c.b;
    }
  }

  append(items: AppendInput[], opts: { durable?: "full" | "normal" } = {}): AppendedRef[] {
    if (items.length === 0) return [];
    const canonicals = items.map((it) => {
      // The reading fast path checked once: valid, and its canonical text (as bodyIssue + canonicalBody).
      if (it.kind === "reading" && isPlainReading(it.body)) return canonicalReading(it.body);
      if (this.validate) {
        const issue = bodyIssue(it.kind, it.body);
        if (issue !== null)
          throw ERR_BAD_RECORD(
            isKind(it.kind) ? `${it.stream}: ${issue}` : `${issue} for stream ${it.stream}`,
          );
      }
      return canonicalBody(it.kind, it.body);
    });
    this.makeRoom(items, canonicals);
    const full = opts.durable === "full";
    if (full) this.db.pragma("synchronous = FULL");
    try {
      return this.appendTx(items, canonicals);
    } finally {
      if (full) this.db.pragma("synchronous = NORMAL");
    }
  }

  private readonly appendTx = (items: AppendInput[], canonicals: string[]): AppendedRef[] => {
    const touched = new Map<string, StreamState>();
    const out: AppendedRef[] = [];
    const run = this.db.transaction(() => {
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const canonical = canonicals[i]!;
        let s = touched.get(it.stream);
        // Only the first row of a stream in a call stores its prev (the row before it may be acked
        // and deleted), and every 64th (so a damaged page strands at most 63 rows in salvage, see
        // restore()); every other row's prev is the hash of the row just before it.
        const first = !s;
        if (!s) {
          const base = this.streams.get(it.stream);
          s = base
            ? { ...base }
            : {
                lastSeq: 0,
                lastHash: genesis(this.device, it.stream),
                ackedSeq: 0,
                evicted: 0,
                priority: priorityOf(it.kind),
                pending: 0,
                pendingBytes: 0,
              };
          touched.set(it.stream, s);
        }
        const seq = s.lastSeq + 1;
        const prio = priorityOf(it.kind);
        const hash = linkFromParts(s.lastHash, this.device, it.stream, seq, it.t, it.kind, canonical);
        const bytes = canonical.length + 64;
        this.insert.run(
          it.stream,
          seq,
          prio,
          it.kind,
          it.t.wall,
          it.t.boot,
          it.t.mono,
          it.t.synced ? 1 : 0,
          canonical,
          first || seq % 64 === 0 ? s.lastHash : null,
          hash,
          bytes,
        );
        s.lastSeq = seq;
        s.lastHash = hash;
        s.pending++;
        s.pendingBytes += bytes;
        if (prio < s.priority) s.priority = prio;
        out.push({ stream: it.stream, seq, hash });
      }
      for (const [stream, s] of touched) this.upsertStream.run(stream, s.lastSeq, s.lastHash, s.priority);
    });
    try {
      run();
    } catch (e) {
      throw ERR_STORAGE(
        `outbox append failed: ${(e as Error).message}`,
        { sqliteCode: (e as { code?: string }).code },
        e,
      );
    }
    // Only after the commit does memory move on: a failed transaction leaves the chain where it was.
    for (const [stream, s] of touched) {
      this.totalBytes += s.pendingBytes - (this.streams.get(stream)?.pendingBytes ?? 0);
      this.streams.set(stream, s);
    }
    return out;
  };

  /**
   * Before an append: evict media, then the oldest telemetry, while over quota or under the disk
   * floor. When only never-evict data is left the outbox is full: telemetry and media are refused
   * (BL_OUTBOX_FULL), evidence is still taken until the free-disk floor, alarms always.
   */
  private makeRoom(items: AppendInput[], canonicals: string[]) {
    const { quota, minFreeDisk } = this.opts;
    if (quota === undefined && minFreeDisk === undefined) return;
    const incoming = canonicals.reduce((n, c) => n + c.length + 64, 0);
    const now = monoMs();
    if (minFreeDisk !== undefined && now - this.diskCheckedAt > 1000) {
      // Pages freed by eviction or acks are reused by later inserts: they count as free space.
      const freePages = Number(this.db.pragma("freelist_count", { simple: true }));
      const pageSize = Number(this.db.pragma("page_size", { simple: true }));
      this.freeDisk = (this.opts.freeDisk ?? freeDiskOf)(dirname(this.path)) + freePages * pageSize;
      this.diskCheckedAt = now;
    }
    let need = 0;
    if (quota !== undefined && this.totalBytes + incoming > quota)
      need = this.totalBytes + incoming - Math.floor(quota * 0.9);
    if (minFreeDisk !== undefined && this.freeDisk - incoming < minFreeDisk)
      need = Math.max(need, minFreeDisk - this.freeDisk + incoming + 1024 * 1024);
    if (need > 0) this.evict(need);
    const overQuota = quota !== undefined && this.totalBytes + incoming > quota;
    const belowFloor = minFreeDisk !== undefined && this.freeDisk - incoming < minFreeDisk;
    this.setFull(overQuota || belowFloor);
    if (!overQuota && !belowFloor) return;
    const worst = Math.max(...items.map((it) => priorityOf(it.kind)));
    const best = Math.min(...items.map((it) => priorityOf(it.kind)));
    const refuse = worst >= PRIORITY.telemetry || (belowFloor && best > PRIORITY.alarm) ? items.length : 0;
    if (refuse) {
      this.refused += refuse;
      throw ERR_OUTBOX_FULL(
        `outbox full (${this.totalBytes} bytes pending, quota ${quota ?? "none"}, ${this.freeDisk} bytes free, floor ${minFreeDisk ?? "none"}): ${items.length} record(s) refused`,
      );
    }
  }

  private evict(need: number) {
    let ranges: EvictedRange[] = [];
    try {
      ranges = this.db.transaction(() => evictOldest(this.db, need, "quota"))();
    } catch (e) {
      throw ERR_STORAGE(`outbox eviction failed: ${(e as Error).message}`, undefined, e);
    }
    for (const r of ranges) {
      const s = this.streams.get(r.stream)!;
      s.pending -= r.count;
      s.pendingBytes -= r.bytes;
      s.evicted += r.count;
      this.totalBytes -= r.bytes;
      // Deleting rows frees pages for reuse, not disk: count them as free so the floor is not re-hit.
      this.freeDisk += r.bytes;
    }
    if (ranges.length) this.opts.onStorage?.({ type: "evicted", ranges });
  }

  private setFull(full: boolean) {
    if (full === this.full) return;
    this.full = full;
    this.opts.onStorage?.({
      type: "full",
      active: full,
      pendingBytes: this.totalBytes,
      freeDisk: this.freeDisk,
    });
  }

  pending(
    limits: BatchLimits,
    after: ReadonlyMap<string, number>,
    gapsSent?: ReadonlySet<string>,
  ): PendingItem[] {
    const out: PendingItem[] = [];
    let records = 0;
    let bytes = 0;
    const gaps = this.stmt("SELECT * FROM gaps ORDER BY priority, stream, from_seq").all() as Array<{
      stream: string;
      from_seq: number;
      to_seq: number;
      reason: string;
      prev: Buffer;
      hash: Buffer;
      priority: number;
    }>;
    for (const g of gaps) {
      // A gap may cover records already sent (evicted while in flight): it still has to go once.
      if (gapsSent ? gapsSent.has(gapKey(g.stream, g.from_seq)) : (after.get(g.stream) ?? 0) >= g.to_seq)
        continue;
      out.push({
        type: "gap",
        stream: g.stream,
        from: g.from_seq,
        to: g.to_seq,
        reason: g.reason,
        prev: g.prev,
        hash: g.hash,
        priority: g.priority,
      });
    }
    const order = [...this.streams.entries()]
      .filter(([, s]) => s.pending > 0 && s.priority <= (limits.maxPriority ?? PRIORITY.media))
      .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1));
    const select = this.stmt(
      "SELECT seq, priority, kind, t_wall, t_boot, t_mono, t_synced, body, bytes FROM records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?",
    );
    const links = this.stmt("SELECT prev, hash FROM records WHERE stream = ? AND seq = ?");
    const link = (stream: string, seq: number) =>
      links.get(stream, seq) as { prev: Buffer | null; hash: Buffer } | undefined;
    for (const [stream] of order) {
      if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
      const rows = select.all(stream, after.get(stream) ?? 0, limits.maxRecords - records) as PendingRow[];
      let run: PendingRun | undefined;
      const runs: PendingRun[] = [];
      for (const r of rows) {
        if (bytes + r.bytes > limits.maxBytes && records > 0) break;
        if (!run || r.seq !== run.last + 1) {
          run = {
            type: "records",
            stream,
            first: r.seq,
            prev: NO_LINK,
            records: [],
            last: r.seq - 1,
            hash: NO_LINK,
            bytes: 0,
            priority: r.priority,
          };
          runs.push(run);
          out.push(run);
        }
        run.records.push({
          t: { wall: r.t_wall, boot: r.t_boot, mono: r.t_mono, synced: r.t_synced === 1 },
          kind: r.kind,
          body: JSON.parse(r.body),
        });
        run.last = r.seq;
        run.bytes += r.bytes;
        if (r.priority < run.priority) run.priority = r.priority;
        records++;
        bytes += r.bytes;
      }
      // Links only at the ends of each run (the rest is recomputed by the cloud): no blobs per row.
      for (const rn of runs) {
        // A run starts after a deleted range (its first row holds the link) or after rows in flight.
        const prev = link(stream, rn.first)!.prev ?? link(stream, rn.first - 1)?.hash;
        if (!prev) throw ERR_STORAGE(`outbox: no link before ${stream} seq ${rn.first}`);
        rn.prev = prev;
        rn.hash = link(stream, rn.last)!.hash;
      }
    }
    return out;
  }

  private readonly stmts = new Map<string, Database.Statement>();
  /** Prepared once per outbox, not per call. */
  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  acknowledge(stream: string, from: number, to: number, hash: Buffer): number {
    const s = this.streams.get(stream);
    if (!s) return 0;
    const tx = this.db.transaction(() => {
      const gap = this.stmt("SELECT hash FROM gaps WHERE stream=? AND from_seq=? AND to_seq=?").get(
        stream,
        from,
        to,
      ) as { hash: Buffer } | undefined;
      if (gap) {
        if (!gap.hash.equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
        this.stmt("DELETE FROM gaps WHERE stream=? AND from_seq=?").run(stream, from);
        return { deleted: 0, bytes: 0, mismatch: false };
      }
      const last = this.stmt("SELECT hash FROM records WHERE stream=? AND seq=?").get(stream, to) as
        | { hash: Buffer }
        | undefined;
      if (!last) return { deleted: 0, bytes: 0, mismatch: false };
      // The ack must name the link we hold at `to`; anything else is not about our records.
      if (!last.hash.equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
      const agg = this.stmt(
        "SELECT count(*) AS n, coalesce(sum(bytes),0) AS b FROM records WHERE stream=? AND seq BETWEEN ? AND ?",
      ).get(stream, from, to) as { n: number; b: number };
      this.stmt("DELETE FROM records WHERE stream=? AND seq BETWEEN ? AND ?").run(stream, from, to);
      // The row after the range loses its predecessor: it keeps the link itself.
      this.stmt("UPDATE records SET prev=? WHERE stream=? AND seq=? AND prev IS NULL").run(
        hash,
        stream,
        to + 1,
      );
      const acked = Math.max(s.ackedSeq, to);
      this.stmt("UPDATE streams SET acked_seq=? WHERE stream=?").run(acked, stream);
      return { deleted: agg.n, bytes: agg.b, mismatch: false, acked };
    });
    const r = tx() as { deleted: number; bytes: number; mismatch: boolean; acked?: number };
    if (r.mismatch) return -1;
    s.pending -= r.deleted;
    s.pendingBytes -= r.bytes;
    this.totalBytes -= r.bytes;
    if (r.acked !== undefined) s.ackedSeq = r.acked;
    return r.deleted;
  }

  heads(): Array<{ stream: string; seq: number; hash: Buffer }> {
    return [...this.streams.entries()].map(([stream, s]) => ({ stream, seq: s.lastSeq, hash: s.lastHash }));
  }

  status(): StreamStatus[] {
    return [...this.streams.entries()]
      .map(([stream, s]) => ({
        stream,
        lastSeq: s.lastSeq,
        ackedSeq: s.ackedSeq,
        pending: s.pending,
        pendingBytes: s.pendingBytes,
        evicted: s.evicted,
      }))
      .sort((a, b) => (a.stream < b.stream ? -1 : 1));
  }

  /** True the first time a command id is seen; remembered across restarts so a replay is ignored. */
  firstSight(id: string, at = Date.now()): boolean {
    const r = this.db
      .prepare("INSERT INTO commands(id, at) VALUES (?, ?) ON CONFLICT(id) DO NOTHING")
      .run(id, at);
    return r.changes === 1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
