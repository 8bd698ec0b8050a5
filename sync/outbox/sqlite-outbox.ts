import Database from "better-sqlite3";
import { canonicalJson } from "../../core/canonical.ts";
import { ERR_BAD_RECORD, ERR_STORAGE } from "../../core/errors.ts";
import { genesis, linkFromParts } from "../chain.ts";
import { isKind, kinds, priorityOf } from "../kinds.ts";
import type {
  AppendedRef,
  AppendInput,
  BatchLimits,
  Outbox,
  PendingItem,
  PendingRun,
  StreamStatus,
} from "./types.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS streams(
  stream TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0, evicted INTEGER NOT NULL DEFAULT 0, priority INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  stream TEXT NOT NULL, seq INTEGER NOT NULL, priority INTEGER NOT NULL, kind TEXT NOT NULL,
  t_wall INTEGER NOT NULL, t_boot TEXT NOT NULL, t_mono INTEGER NOT NULL, t_synced INTEGER NOT NULL,
  body TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY(stream, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_priority ON records(priority, stream, seq);
CREATE TABLE IF NOT EXISTS commands(id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps(
  stream TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT NOT NULL,
  prev BLOB NOT NULL, hash BLOB NOT NULL, priority INTEGER NOT NULL, PRIMARY KEY(stream, from_seq));
`;

interface StreamState {
  lastSeq: number;
  lastHash: Buffer;
  ackedSeq: number;
  evicted: number;
  priority: number;
  pending: number;
  pendingBytes: number;
}

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
}

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

  constructor(
    readonly path: string,
    readonly device: string,
    opts: SqliteOutboxOptions = {},
  ) {
    this.validate = opts.validate ?? true;
    try {
      this.db = new Database(path);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("busy_timeout = 5000");
      this.db.exec(SCHEMA);
    } catch (e) {
      throw ERR_STORAGE(
        `outbox ${path}: ${(e as Error).message}`,
        { sqliteCode: (e as { code?: string }).code },
        e,
      );
    }
    const owner = this.db.prepare("SELECT value FROM meta WHERE key='device'").get() as
      | { value: string }
      | undefined;
    if (!owner) this.db.prepare("INSERT INTO meta(key, value) VALUES ('device', ?)").run(device);
    else if (owner.value !== device) {
      throw ERR_STORAGE(`outbox ${path} belongs to device '${owner.value}', not '${device}'`);
    }
    this.insert = this.db.prepare(
      "INSERT INTO records(stream, seq, priority, kind, t_wall, t_boot, t_mono, t_synced, body, prev, hash, bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    );
    this.upsertStream = this.db.prepare(
      "INSERT INTO streams(stream, last_seq, last_hash, priority) VALUES (?,?,?,?) ON CONFLICT(stream) DO UPDATE SET last_seq=excluded.last_seq, last_hash=excluded.last_hash",
    );
    this.loadState();
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
    }
  }

  append(items: AppendInput[], opts: { durable?: "full" | "normal" } = {}): AppendedRef[] {
    if (items.length === 0) return [];
    const prepared = items.map((it) => {
      if (this.validate) {
        if (!isKind(it.kind))
          throw ERR_BAD_RECORD(`unknown record kind '${it.kind}' for stream ${it.stream}`);
        const r = kinds[it.kind].schema.safeParse(it.body);
        if (!r.success) {
          const i = r.error.issues[0]!;
          throw ERR_BAD_RECORD(`${it.stream}: ${it.kind} body ${i.path.join(".") || "(root)"}: ${i.message}`);
        }
      }
      return { ...it, canonical: canonicalJson(it.body) };
    });
    const full = opts.durable === "full";
    if (full) this.db.pragma("synchronous = FULL");
    try {
      return this.appendTx(prepared);
    } finally {
      if (full) this.db.pragma("synchronous = NORMAL");
    }
  }

  private readonly appendTx = (items: Array<AppendInput & { canonical: string }>): AppendedRef[] => {
    const touched = new Map<string, StreamState>();
    const out: AppendedRef[] = [];
    const run = this.db.transaction(() => {
      for (const it of items) {
        let s = touched.get(it.stream);
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
        const hash = linkFromParts(s.lastHash, this.device, it.stream, seq, it.t, it.kind, it.canonical);
        const bytes = it.canonical.length + 64;
        this.insert.run(
          it.stream,
          seq,
          prio,
          it.kind,
          it.t.wall,
          it.t.boot,
          it.t.mono,
          it.t.synced ? 1 : 0,
          it.canonical,
          s.lastHash,
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
    for (const [stream, s] of touched) this.streams.set(stream, s);
    return out;
  };

  pending(limits: BatchLimits, after: ReadonlyMap<string, number>): PendingItem[] {
    const out: PendingItem[] = [];
    let records = 0;
    let bytes = 0;
    const gaps = this.db.prepare("SELECT * FROM gaps ORDER BY priority, stream, from_seq").all() as Array<{
      stream: string;
      from_seq: number;
      to_seq: number;
      reason: string;
      prev: Buffer;
      hash: Buffer;
      priority: number;
    }>;
    for (const g of gaps) {
      if ((after.get(g.stream) ?? 0) >= g.to_seq) continue;
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
      .filter(([, s]) => s.pending > 0)
      .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1));
    const select = this.db.prepare("SELECT * FROM records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?");
    for (const [stream] of order) {
      if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
      const rows = select.all(stream, after.get(stream) ?? 0, limits.maxRecords - records) as RecordRow[];
      let run: PendingRun | undefined;
      for (const r of rows) {
        if (bytes + r.bytes > limits.maxBytes && records > 0) break;
        if (!run || r.seq !== run.last + 1) {
          run = {
            type: "records",
            stream,
            first: r.seq,
            prev: r.prev,
            records: [],
            last: r.seq - 1,
            hash: r.prev,
            bytes: 0,
            priority: r.priority,
          };
          out.push(run);
        }
        run.records.push({
          t: { wall: r.t_wall, boot: r.t_boot, mono: r.t_mono, synced: r.t_synced === 1 },
          kind: r.kind,
          body: JSON.parse(r.body),
        });
        run.last = r.seq;
        run.hash = r.hash;
        run.bytes += r.bytes;
        if (r.priority < run.priority) run.priority = r.priority;
        records++;
        bytes += r.bytes;
      }
    }
    return out;
  }

  acknowledge(stream: string, from: number, to: number, hash: Buffer): number {
    const s = this.streams.get(stream);
    if (!s) return 0;
    const tx = this.db.transaction(() => {
      const gap = this.db
        .prepare("SELECT hash FROM gaps WHERE stream=? AND from_seq=? AND to_seq=?")
        .get(stream, from, to) as { hash: Buffer } | undefined;
      if (gap) {
        if (!gap.hash.equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
        this.db.prepare("DELETE FROM gaps WHERE stream=? AND from_seq=?").run(stream, from);
        return { deleted: 0, bytes: 0, mismatch: false };
      }
      const last = this.db.prepare("SELECT hash FROM records WHERE stream=? AND seq=?").get(stream, to) as
        | { hash: Buffer }
        | undefined;
      if (!last) return { deleted: 0, bytes: 0, mismatch: false };
      // The ack must name the link we hold at `to`; anything else is not about our records.
      if (!last.hash.equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
      const agg = this.db
        .prepare(
          "SELECT count(*) AS n, coalesce(sum(bytes),0) AS b FROM records WHERE stream=? AND seq BETWEEN ? AND ?",
        )
        .get(stream, from, to) as { n: number; b: number };
      this.db.prepare("DELETE FROM records WHERE stream=? AND seq BETWEEN ? AND ?").run(stream, from, to);
      const acked = Math.max(s.ackedSeq, to);
      this.db.prepare("UPDATE streams SET acked_seq=? WHERE stream=?").run(acked, stream);
      return { deleted: agg.n, bytes: agg.b, mismatch: false, acked };
    });
    const r = tx() as { deleted: number; bytes: number; mismatch: boolean; acked?: number };
    if (r.mismatch) return -1;
    s.pending -= r.deleted;
    s.pendingBytes -= r.bytes;
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
