import { existsSync, statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { monoMs } from "../../core/clock.ts";
import { ERR_BAD_RECORD, ERR_STORAGE } from "../../core/errors.ts";
import { deviceKindText, genesis, linkFromColumns, linkOfRecord, streamBootText } from "../chain.ts";
import { noColumns } from "../codec.ts";
import { ERR_OUTBOX_CORRUPT, ERR_OUTBOX_FULL } from "../errors.ts";
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
import { isCorruption, quarantineAndSalvage, relink, type Salvage, type SalvagedRecord } from "./salvage.ts";
import {
  type AppendedRef,
  type AppendInput,
  type BatchLimits,
  gapKey,
  type Outbox,
  type OutboxRecovery,
  type PendingItem,
  type PendingRun,
  type StorageEvent,
  type StreamStatus,
} from "./types.ts";

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

const SCHEMA = `
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
const isOldLayout = (e: unknown) =>
  (e as { details?: { sqliteCode?: string } })?.details?.sqliteCode === OLD_LAYOUT;

/** Rows between two stored links are at most this far apart (prev every 64th seq): bounds linkAt. */
const ANCHOR_EVERY = 64;

interface StreamState {
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
const NO_LINK = Buffer.alloc(0);

/** The columns of a row that make its record (and so its link). */
const ROW = "seq, kid, t_wall, t_mono, bid, t_synced, body";

/** A row with its stored links, as linkAt and check read it. */
type LinkedRow = RowData & { prev: Buffer | null; hash: Buffer | null };

/** A row as the drain and linkAt read it. */
interface RowData {
  seq: number;
  kid: number;
  t_wall: number;
  t_mono: number;
  bid: number;
  t_synced: number;
  body: string;
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
  /**
   * Told when the outbox becomes full (only never-evict data over quota) or recovers, of each
   * eviction, and when a stream's stored records no longer match their chain (held, never sent).
   */
  onStorage?: (e: StorageEvent) => void;
  /** Run PRAGMA quick_check on open (default true): finds a damaged file before it is written to. */
  check?: boolean;
}

export type { StorageEvent } from "./types.ts";

const freeDiskOf = (dir: string) => {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/**
 * The outbox on SQLite (better-sqlite3, WAL). Each append call is one transaction: the chain link of
 * every record is computed inside it from the link before, so a crash can never leave a record
 * stored out of its chain or a link that skips a record.
 */
export class SqliteOutbox implements Outbox {
  readonly db: Database.Database;
  private readonly streams = new Map<string, StreamState>();
  private readonly validate: boolean;
  private readonly insert: Database.Statement;
  private readonly newStream: Database.Statement;
  private readonly updateStream: Database.Statement;
  private readonly newBoot: Database.Statement;
  private readonly newKind: Database.Statement;
  /** Boot ids and kinds by name and by number (both tables only grow). */
  private readonly bootIds = new Map<string, number>();
  private readonly bootNames = new Map<number, string>();
  private readonly kindIds = new Map<string, number>();
  private readonly kindNames = new Map<number, string>();
  private readonly kindPriority = new Map<number, number>();
  /** Streams whose stored records failed their chain check: held, with the reason. */
  private readonly damaged = new Map<string, string>();
  /** Set when this outbox was started from a quarantined corrupt file (the agent raises an alarm). */
  readonly recovery?: OutboxRecovery;
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
    let why = "";
    try {
      // A zero-length file is not a new outbox (SQLite writes its header on first open, WAL mode):
      // it lost everything, heads included. Opened as it is it would restart every stream at seq 1
      // silently; moved aside instead, the agent raises the alarm.
      if (existsSync(path) && statSync(path).size === 0)
        throw Object.assign(new Error("empty"), { empty: true });
      this.db = this.open(path, opts.check ?? true);
    } catch (e) {
      if ((e as { empty?: boolean }).empty) {
        why = "empty";
        salvage = quarantineAndSalvage(path, new Date(), why);
        salvage.errors.push("the outbox file was empty (zero-length): every stream head was lost");
      } else {
        const oldLayout = isOldLayout(e);
        if (!isCorruption(e) && !oldLayout) throw e;
        // Never delete a damaged outbox: move it aside, keep what reads, carry on in a fresh file. A
        // file of an older layout takes the same path: its rows, seqs and links carry over.
        why = oldLayout ? "old-layout" : "corrupt";
        salvage = quarantineAndSalvage(path, new Date(), why);
      }
      this.db = this.open(path, false);
    }
    const owner = this.db.prepare("SELECT value FROM meta WHERE key='device'").get() as
      | { value: string }
      | undefined;
    if (!owner) this.db.prepare("INSERT INTO meta(key, value) VALUES ('device', ?)").run(device);
    else if (owner.value !== device) {
      throw ERR_STORAGE(`outbox ${path} belongs to device '${owner.value}', not '${device}'`);
    }
    this.insert = this.db.prepare(
      "INSERT INTO records(sid, seq, kid, t_wall, t_mono, bid, t_synced, body, prev, hash, bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    );
    this.newStream = this.db.prepare(
      "INSERT INTO streams(stream, last_seq, last_hash, priority) VALUES (?, 0, ?, ?)",
    );
    this.updateStream = this.db.prepare(
      "UPDATE streams SET last_seq = ?, last_hash = ?, priority = ? WHERE sid = ?",
    );
    this.newBoot = this.db.prepare("INSERT INTO boots(boot) VALUES (?)");
    this.newKind = this.db.prepare("INSERT INTO kinds(kind) VALUES (?)");
    if (salvage) {
      const restored = this.restore(salvage);
      this.recovery = {
        quarantined: salvage.quarantined,
        why,
        heads: salvage.heads.length,
        records: restored,
        gaps: salvage.gaps.length,
        errors: salvage.errors,
      };
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

  /**
   * Writes salvaged heads, records (re-linked and checked: relink) and gaps into the fresh file:
   * seqs and links continue. Returns the rows carried over.
   */
  private restore(s: Salvage): number {
    let restored = 0;
    this.db.transaction(() => {
      const sids = new Map<string, number>();
      const heads = new Map(s.heads.map((h) => [h.stream, h]));
      const ids = (table: "boots" | "kinds", col: string) => {
        const known = new Map<string, number>();
        const ins = this.db.prepare(`INSERT INTO ${table}(${col}) VALUES (?)`);
        return (name: string) => {
          let id = known.get(name);
          if (id === undefined) {
            id = Number(ins.run(name).lastInsertRowid);
            known.set(name, id);
          }
          return id;
        };
      };
      const bid = ids("boots", "boot");
      const kid = ids("kinds", "kind");
      const put = (r: SalvagedRecord, prev: Buffer | null, hash: Buffer) => {
        let sid = sids.get(r.stream);
        if (sid === undefined) {
          sid = Number(this.newStream.run(r.stream, hash, priorityOf(r.kind)).lastInsertRowid);
          sids.set(r.stream, sid);
        }
        this.insert.run(
          sid,
          r.seq,
          kid(r.kind),
          r.t_wall,
          r.t_mono,
          bid(r.t_boot),
          r.t_synced,
          r.body,
          prev,
          hash,
          r.bytes,
        );
        restored++;
      };
      const { rows, top } = relink(this.device, s);
      for (const { r, prev, hash } of rows) put(r, prev, hash);
      // Heads: the salvaged streams table, else the highest row carried over.
      for (const [name, t] of top) {
        const h = heads.get(name);
        if (!h || t.seq > h.lastSeq)
          heads.set(name, {
            stream: name,
            lastSeq: t.seq,
            lastHash: t.link,
            ackedSeq: h?.ackedSeq ?? 0,
            evicted: h?.evicted ?? 0,
            priority: t.priority,
          });
      }
      const upd = this.db.prepare(
        "UPDATE streams SET last_seq=?, last_hash=?, acked_seq=?, evicted=?, priority=? WHERE stream=?",
      );
      const ins = this.db.prepare(
        "INSERT INTO streams(stream, last_seq, last_hash, acked_seq, evicted, priority) VALUES (?,?,?,?,?,?)",
      );
      for (const h of heads.values()) {
        const args = [h.lastSeq, h.lastHash, h.ackedSeq, h.evicted, h.priority] as const;
        if (sids.has(h.stream)) upd.run(...args, h.stream);
        else ins.run(h.stream, ...args);
      }
      const gcols = ["stream", "from_seq", "to_seq", "reason", "prev", "hash", "priority", "count"];
      const g = this.db.prepare(
        `INSERT OR IGNORE INTO gaps(${gcols.join(",")}) VALUES (${gcols.map(() => "?").join(",")})`,
      );
      for (const r of s.gaps) g.run(...gcols.map((c) => r[c] ?? null));
      this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('recovered', ?)").run(s.quarantined);
    })();
    return restored;
  }

  private loadState() {
    for (const b of this.db.prepare("SELECT bid, boot FROM boots").all() as Array<{
      bid: number;
      boot: string;
    }>) {
      this.bootIds.set(b.boot, b.bid);
      this.bootNames.set(b.bid, b.boot);
    }
    for (const k of this.db.prepare("SELECT kid, kind FROM kinds").all() as Array<{
      kid: number;
      kind: string;
    }>)
      this.learnKind(k.kind, k.kid);
    const rows = this.db.prepare("SELECT * FROM streams").all() as Array<{
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
      this.streams.set(r.stream, s);
      bySid.set(r.sid, s);
    }
    const stored = this.db.prepare("SELECT 1 FROM records WHERE sid = ? AND seq = ?").pluck();
    for (const s of bySid.values()) s.tail = stored.get(s.sid, s.lastSeq) !== undefined;
    const counts = this.db
      .prepare("SELECT sid, count(*) AS n, sum(bytes) AS b FROM records GROUP BY sid")
      .all() as Array<{ sid: number; n: number; b: number }>;
    for (const c of counts) {
      const s = bySid.get(c.sid);
      if (s) {
        s.pending = c.n;
        s.pendingBytes = c.b;
      }
      this.totalBytes += c.b;
    }
  }

  private learnKind(kind: string, kid: number) {
    this.kindIds.set(kind, kid);
    this.kindNames.set(kid, kind);
    this.kindPriority.set(kid, priorityOf(kind));
  }

  append(items: AppendInput[], opts: { durable?: "full" | "normal" } = {}): AppendedRef[] {
    if (items.length === 0) return [];
    const canonicals = new Array<string>(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const t = it.t;
      // The link covers the four stored time values: anything else would not survive the row, and
      // the wire carries integer milliseconds (a fraction would be refused by the cloud for ever).
      if (
        !Number.isSafeInteger(t?.wall) ||
        !Number.isSafeInteger(t.mono) ||
        typeof t.boot !== "string" ||
        typeof t.synced !== "boolean"
      )
        throw ERR_BAD_RECORD(
          `${it.stream}: capture time must be {wall: integer ms, boot: string, mono: integer ms, synced: boolean}`,
        );
      // The reading fast path checked once: valid, and its canonical text (as bodyIssue + canonicalBody).
      if (it.kind === "reading" && isPlainReading(it.body)) {
        canonicals[i] = canonicalReading(it.body);
        continue;
      }
      if (this.validate) {
        const issue = bodyIssue(it.kind, it.body);
        if (issue !== null)
          throw ERR_BAD_RECORD(
            isKind(it.kind) ? `${it.stream}: ${issue}` : `${issue} for stream ${it.stream}`,
          );
      }
      canonicals[i] = canonicalBody(it.kind, it.body);
    }
    const refused = this.makeRoom(items, canonicals);
    const kept = refused?.size ? items.filter((_, i) => !refused.has(i)) : items;
    const keptCanonicals = refused?.size ? canonicals.filter((_, i) => !refused.has(i)) : canonicals;
    const full = opts.durable === "full";
    if (full) this.db.pragma("synchronous = FULL");
    let refs: AppendedRef[];
    try {
      refs = kept.length ? this.appendTx(kept, keptCanonicals) : [];
    } finally {
      if (full) this.db.pragma("synchronous = NORMAL");
    }
    if (refused?.size) {
      this.refused += refused.size;
      const { quota, minFreeDisk } = this.opts;
      // The caller learns what was kept (details.appended) and what was refused.
      throw ERR_OUTBOX_FULL(
        `outbox full (${this.totalBytes} bytes pending, quota ${quota ?? "none"}, ${this.freeDisk} bytes free, floor ${minFreeDisk ?? "none"}): ${refused.size} of ${items.length} record(s) refused${refs.length ? `, ${refs.length} kept` : ""}`,
        { appended: refs, refused: refused.size },
      );
    }
    return refs;
  }

  private readonly appendTx = (items: AppendInput[], canonicals: string[]): AppendedRef[] => {
    const touched = new Map<string, StreamState>();
    // The last row of each stream in this call stores its link; the rows before it do not (their
    // links are recomputed from the rows and checked against this one, see linkAt).
    const lastOf = new Map<string, number>();
    for (let i = 0; i < items.length; i++) lastOf.set(items[i]!.stream, i);
    // Boot ids and kinds first seen in this call: remembered only once the transaction commits.
    const newBoots = new Map<string, number>();
    const newKinds = new Map<string, number>();
    const out: AppendedRef[] = new Array(items.length);
    const device = this.device;
    const insert = this.insert;
    let boot = "";
    let bid = -1;
    let kind = "";
    let kid = -1;
    // A name's number: known, or first seen in this call (inserted now, remembered after the commit).
    const idOf = (
      name: string,
      known: Map<string, number>,
      fresh: Map<string, number>,
      ins: Database.Statement,
    ) => {
      let id = known.get(name) ?? fresh.get(name);
      if (id === undefined) {
        id = Number(ins.run(name).lastInsertRowid);
        fresh.set(name, id);
      }
      return id;
    };
    let prio = PRIORITY.telemetry;
    // The texts of the record's canonical form that repeat from row to row, made once per change.
    let kindText = "";
    const streamBoot = new Map<string, { boot: string; text: string }>();
    const run = this.db.transaction(() => {
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const canonical = canonicals[i]!;
        const stream = it.stream;
        const t = it.t;
        if (it.kind !== kind) {
          kind = it.kind;
          kindText = "";
          kid = idOf(kind, this.kindIds, newKinds, this.newKind);
          prio = priorityOf(kind);
        }
        if (t.boot !== boot) {
          boot = t.boot;
          bid = idOf(boot, this.bootIds, newBoots, this.newBoot);
        }
        let s = touched.get(stream);
        // A row's prev is the link of the row before it: stored on that row when it ended an earlier
        // call (the usual case: a gateway appends a few records per tick), recomputed otherwise. The
        // row stores its prev itself only when the row before is gone (acked or evicted: `tail`),
        // and every 64th seq, so no link is more than 64 rows from a stored one and a damaged page
        // strands at most 63 rows in salvage; acknowledge() and eviction store it on the row after
        // a range they delete.
        const first = !s;
        if (!s) {
          const base = this.streams.get(stream);
          if (base) s = { ...base };
          else {
            const g = genesis(device, stream);
            s = {
              sid: Number(this.newStream.run(stream, g, prio).lastInsertRowid),
              lastSeq: 0,
              lastHash: g,
              ackedSeq: 0,
              evicted: 0,
              priority: prio,
              pending: 0,
              pendingBytes: 0,
              tail: false,
            };
          }
          touched.set(stream, s);
        }
        const seq = s.lastSeq + 1;
        if (kindText === "") kindText = deviceKindText(device, kind);
        let sb = streamBoot.get(stream);
        if (sb === undefined || sb.boot !== boot) {
          sb = { boot, text: streamBootText(stream, boot) };
          streamBoot.set(stream, sb);
        }
        const hash = linkOfRecord(s.lastHash, canonical, kindText, seq, sb.text, t.mono, t.synced, t.wall);
        const bytes = canonical.length + 64;
        insert.run(
          s.sid,
          seq,
          kid,
          t.wall,
          t.mono,
          bid,
          t.synced ? 1 : 0,
          canonical,
          (first && !s.tail) || seq % ANCHOR_EVERY === 0 ? s.lastHash : null,
          lastOf.get(stream) === i ? hash : null,
          bytes,
        );
        s.lastSeq = seq;
        s.lastHash = hash;
        s.tail = true;
        s.pending++;
        s.pendingBytes += bytes;
        if (prio < s.priority) s.priority = prio;
        out[i] = { stream, seq, hash };
      }
      for (const s of touched.values()) this.updateStream.run(s.lastSeq, s.lastHash, s.priority, s.sid);
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
    for (const [name, id] of newBoots) {
      this.bootIds.set(name, id);
      this.bootNames.set(id, name);
    }
    for (const [name, id] of newKinds) this.learnKind(name, id);
    for (const [stream, s] of touched) {
      this.totalBytes += s.pendingBytes - (this.streams.get(stream)?.pendingBytes ?? 0);
      this.streams.set(stream, s);
    }
    return out;
  };

  /**
   * The chain link at `seq` of `stream` (seq 0: the genesis). A stored link is used as it is (the
   * row's own hash, the next row's prev, the head); otherwise it is recomputed from the nearest stored
   * link before it and the rows after, and the recomputation is carried on to the next stored link
   * after `seq` and compared with it. A row altered or damaged on disk therefore throws
   * BL_OUTBOX_CORRUPT here, before anything derived from it is signed or sent.
   */
  private linkAt(stream: string, s: StreamState, seq: number): Buffer {
    if (seq === s.lastSeq) return s.lastHash;
    if (seq === 0) return genesis(this.device, stream);
    const near = this.stmt("SELECT seq, prev, hash FROM records WHERE sid = ? AND seq BETWEEN ? AND ?").all(
      s.sid,
      seq,
      seq + 1,
    ) as Array<{ seq: number; prev: Buffer | null; hash: Buffer | null }>;
    for (const r of near) {
      if (r.seq === seq && r.hash) return r.hash;
      if (r.seq === seq + 1 && r.prev) return r.prev;
    }
    const damaged = (why: string) =>
      ERR_OUTBOX_CORRUPT(`outbox stream ${stream} near seq ${seq}: ${why}`, { stream, seq });
    const anchor = this.stmt(
      "SELECT seq, prev, hash FROM records WHERE sid = ? AND seq <= ? AND (hash IS NOT NULL OR prev IS NOT NULL) ORDER BY seq DESC LIMIT 1",
    ).get(s.sid, seq) as { seq: number; prev: Buffer | null; hash: Buffer | null } | undefined;
    if (!anchor) throw damaged("no stored link before it");
    let cur = anchor.hash ?? anchor.prev!;
    const from = anchor.hash ? anchor.seq + 1 : anchor.seq;
    const rows = this.stmt(
      `SELECT ${ROW}, prev, hash FROM records WHERE sid = ? AND seq >= ? ORDER BY seq LIMIT ?`,
    ).all(s.sid, from, 4 * ANCHOR_EVERY) as LinkedRow[];
    let result: Buffer | undefined;
    let expect = from;
    for (const r of rows) {
      if (r.seq !== expect) break;
      if (r.prev && r.seq > from) {
        if (!r.prev.equals(cur))
          throw damaged(`records ${from}..${r.seq - 1} do not match the link stored at ${r.seq}`);
        if (result) return result;
      }
      cur = this.linkOfRow(stream, r, cur);
      if (r.seq === seq) result = cur;
      if (r.hash) {
        if (!r.hash.equals(cur))
          throw damaged(`records ${from}..${r.seq} do not match the link stored at ${r.seq}`);
        if (result) return result;
      }
      expect++;
    }
    if (result && expect - 1 === s.lastSeq) {
      if (!cur.equals(s.lastHash))
        throw damaged(`records ${from}..${s.lastSeq} do not match the stream's head`);
      return result;
    }
    throw damaged(result ? "no stored link after it to check against" : "record missing");
  }

  /** A row's kind and boot id by name; an unknown number means the file is damaged. */
  private namesOf(stream: string, r: RowData): { kind: string; boot: string } {
    const kind = this.kindNames.get(r.kid);
    const boot = this.bootNames.get(r.bid);
    if (kind === undefined || boot === undefined)
      throw ERR_OUTBOX_CORRUPT(`outbox stream ${stream} seq ${r.seq}: unknown kind or boot id number`, {
        stream,
        seq: r.seq,
      });
    return { kind, boot };
  }

  private linkOfRow(stream: string, r: RowData, prev: Buffer): Buffer {
    const { kind, boot } = this.namesOf(stream, r);
    return linkFromColumns(
      prev,
      this.device,
      stream,
      r.seq,
      kind,
      r.body,
      r.t_wall,
      boot,
      r.t_mono,
      r.t_synced === 1,
    );
  }

  /**
   * Recomputes every link of the stored records `from..to` from the link before `from` and checks it
   * against each link stored on the way and the link at `to`. The agent calls it when the cloud
   * refuses a batch as not chaining: a row altered outside the stretches linkAt recomputes is found
   * here, and the stream held. Rows already gone (acked meanwhile) end the check early.
   */
  check(stream: string, from: number, to: number): boolean {
    if (this.damaged.has(stream)) return false;
    const s = this.streams.get(stream);
    if (!s) return true;
    const damaged = (at: number) =>
      ERR_OUTBOX_CORRUPT(
        `outbox stream ${stream}: records ${from}..${at} do not match the link stored at ${at}`,
      );
    try {
      let cur = this.linkAt(stream, s, from - 1);
      const end = this.linkAt(stream, s, to);
      let expect = from;
      const rows = this.stmt(
        `SELECT ${ROW}, prev, hash FROM records WHERE sid = ? AND seq BETWEEN ? AND ? ORDER BY seq`,
      ).iterate(s.sid, from, to) as IterableIterator<LinkedRow>;
      for (const r of rows) {
        if (r.seq !== expect) return true;
        if (r.prev && r.seq > from && !r.prev.equals(cur)) throw damaged(r.seq);
        cur = this.linkOfRow(stream, r, cur);
        if (r.hash && !r.hash.equals(cur)) throw damaged(r.seq);
        expect++;
      }
      if (expect === to + 1 && !cur.equals(end))
        throw ERR_OUTBOX_CORRUPT(
          `outbox stream ${stream}: records ${from}..${to} do not chain to the link at ${to}`,
        );
      return true;
    } catch (e) {
      this.hold(stream, e);
      return false;
    }
  }

  /** A stream whose stored records fail their chain is held (never sent, never acked) and reported once. */
  private hold(stream: string, e: unknown): void {
    if (!ERR_OUTBOX_CORRUPT.is(e)) throw e;
    if (this.damaged.has(stream)) return;
    const message = (e as Error).message;
    this.damaged.set(stream, message);
    this.opts.onStorage?.({ type: "damaged", stream, message });
  }

  /**
   * Before an append: evict media, then the oldest telemetry, while over quota or under the disk
   * floor. When only never-evict data is left the outbox is full: telemetry and media are refused
   * (BL_OUTBOX_FULL), evidence is still taken until the free-disk floor, alarms always.
   */
  private makeRoom(items: AppendInput[], canonicals: string[]): Set<number> | undefined {
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
    // Refused alone: telemetry and media over quota, everything but alarms below the disk floor.
    // Evidence and alarms in the same call are kept (they are never refused for quota).
    const refused = new Set<number>();
    for (let i = 0; i < items.length; i++) {
      const p = priorityOf(items[i]!.kind);
      if (p >= PRIORITY.telemetry || (belowFloor && p > PRIORITY.alarm)) refused.add(i);
    }
    return refused;
  }

  private evict(need: number) {
    let ranges: EvictedRange[] = [];
    const streams = [...this.streams.entries()]
      .filter(([name]) => !this.damaged.has(name))
      .map(([name, s]) => ({ stream: name, sid: s.sid, priority: s.priority }));
    try {
      ranges = this.db.transaction(() =>
        evictOldest(this.db, need, "quota", {
          streams,
          priorityOfKid: (kid) => this.kindPriority.get(kid) ?? PRIORITY.telemetry,
          linkAt: (stream, seq) => {
            try {
              return this.linkAt(stream, this.streams.get(stream)!, seq);
            } catch (e) {
              this.hold(stream, e);
              return undefined;
            }
          },
        }),
      )();
    } catch (e) {
      throw ERR_STORAGE(`outbox eviction failed: ${(e as Error).message}`, undefined, e);
    }
    for (const r of ranges) {
      const s = this.streams.get(r.stream)!;
      s.pending -= r.count;
      s.pendingBytes -= r.bytes;
      s.evicted += r.count;
      if (r.to >= s.lastSeq) s.tail = false;
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
      .filter(
        ([name, s]) =>
          s.pending > 0 && s.priority <= (limits.maxPriority ?? PRIORITY.media) && !this.damaged.has(name),
      )
      .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1));
    const select = this.stmt(
      `SELECT ${ROW}, bytes FROM records WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    for (const [stream, s] of order) {
      if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
      const rows = select.all(s.sid, after.get(stream) ?? 0, limits.maxRecords - records) as RowData[];
      const runs: PendingRun[] = [];
      let n = 0;
      let b = 0;
      try {
        let run: PendingRun | undefined;
        for (const r of rows) {
          if (bytes + b + r.bytes > limits.maxBytes && records + n > 0) break;
          const { kind, boot } = this.namesOf(stream, r);
          const prio = this.kindPriority.get(r.kid)!;
          if (!run || r.seq !== run.last + 1) {
            run = {
              type: "records",
              stream,
              first: r.seq,
              prev: NO_LINK,
              columns: noColumns(),
              last: r.seq - 1,
              hash: NO_LINK,
              bytes: 0,
              priority: prio,
            };
            runs.push(run);
          }
          const c = run.columns;
          c.wall.push(r.t_wall);
          c.mono.push(r.t_mono);
          c.synced.push(r.t_synced === 1);
          c.kind.push(kind);
          c.boot.push(boot);
          c.body.push(r.body);
          run.last = r.seq;
          run.bytes += r.bytes;
          if (prio < run.priority) run.priority = prio;
          n++;
          b += r.bytes;
        }
        // Links only at the ends of each run (the cloud recomputes the rest): stored ones as they
        // are, others recomputed and checked against the next stored link.
        for (const rn of runs) {
          rn.prev = this.linkAt(stream, s, rn.first - 1);
          rn.hash = this.linkAt(stream, s, rn.last);
        }
      } catch (e) {
        // A stream whose stored records fail their chain is held; the others go on.
        this.hold(stream, e);
        continue;
      }
      out.push(...runs);
      records += n;
      bytes += b;
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
    type Result = { deleted: number; bytes: number; mismatch: boolean; acked?: number };
    const tx = this.db.transaction((): Result => {
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
      const exists = (seq: number) =>
        this.stmt("SELECT hash FROM records WHERE sid=? AND seq=?").get(s.sid, seq) as
          | { hash: Buffer | null }
          | undefined;
      if (!exists(to)) return { deleted: 0, bytes: 0, mismatch: false };
      // The ack must name the link we hold at `to`; anything else is not about our records.
      if (!this.linkAt(stream, s, to).equals(hash)) return { deleted: 0, bytes: 0, mismatch: true };
      // Acked out of order (rows below stay): the row before the range keeps its own link, so links
      // below it can still be checked against a stored one.
      const below = exists(from - 1);
      if (below && !below.hash)
        this.stmt("UPDATE records SET hash=? WHERE sid=? AND seq=?").run(
          this.linkAt(stream, s, from - 1),
          s.sid,
          from - 1,
        );
      const agg = this.stmt(
        "SELECT count(*) AS n, coalesce(sum(bytes),0) AS b FROM records WHERE sid=? AND seq BETWEEN ? AND ?",
      ).get(s.sid, from, to) as { n: number; b: number };
      this.stmt("DELETE FROM records WHERE sid=? AND seq BETWEEN ? AND ?").run(s.sid, from, to);
      // The row after the range loses its predecessor: it keeps the link itself.
      this.stmt("UPDATE records SET prev=? WHERE sid=? AND seq=? AND prev IS NULL").run(hash, s.sid, to + 1);
      const acked = Math.max(s.ackedSeq, to);
      this.stmt("UPDATE streams SET acked_seq=? WHERE sid=?").run(acked, s.sid);
      return { deleted: agg.n, bytes: agg.b, mismatch: false, acked };
    });
    let r: Result;
    try {
      r = tx();
    } catch (e) {
      this.hold(stream, e);
      return 0;
    }
    if (r.mismatch) return -1;
    s.pending -= r.deleted;
    s.pendingBytes -= r.bytes;
    this.totalBytes -= r.bytes;
    if (r.acked !== undefined) s.ackedSeq = r.acked;
    if (r.deleted > 0 && to >= s.lastSeq) s.tail = false;
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
        ...(this.damaged.has(stream) ? { damaged: this.damaged.get(stream) } : {}),
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
