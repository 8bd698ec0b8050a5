import { existsSync, statSync } from "node:fs";
import type Database from "better-sqlite3";
import { ERR_STORAGE } from "../../core/errors.ts";
import { deviceKindText, genesis, linkOfRecord, streamBootText } from "../chain.ts";
import { ERR_OUTBOX_CORRUPT, ERR_OUTBOX_FULL } from "../errors.ts";
import { PRIORITY, priorityOf } from "../kinds.ts";
import { canonicalItems } from "./canonical-items.ts";
import { Generations } from "./generation-state.ts";
import { isCorruption, quarantineAndSalvage, type Salvage } from "./salvage.ts";
import { acknowledgeRange } from "./sqlite-ack.ts";
import {
  ANCHOR_EVERY,
  isOldLayout,
  type OutboxParts,
  openOutboxFile,
  type StreamState,
} from "./sqlite-layout.ts";
import { checkRange } from "./sqlite-links.ts";
import { readPending } from "./sqlite-pending.ts";
import { makeRoom } from "./sqlite-quota.ts";
import { restoreSalvage } from "./sqlite-restore.ts";
import { loadState } from "./sqlite-state.ts";
import type {
  AppendedRef,
  AppendInput,
  BatchLimits,
  Outbox,
  OutboxRecovery,
  PendingItem,
  StorageEvent,
  StreamStatus,
} from "./types.ts";

export { OUTBOX_LAYOUT } from "./sqlite-layout.ts";

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

/**
 * The outbox on SQLite (better-sqlite3, WAL). Each append call is one transaction: the chain link of
 * every record is computed inside it from the link before, so a crash can never leave a record
 * stored out of its chain or a link that skips a record.
 */
export class SqliteOutbox implements Outbox, OutboxParts {
  readonly db: Database.Database;
  readonly streams = new Map<string, StreamState>();
  readonly validate: boolean;
  readonly insert: Database.Statement;
  readonly newStream: Database.Statement;
  readonly updateStream: Database.Statement;
  readonly newBoot: Database.Statement;
  readonly newKind: Database.Statement;
  readonly inTx: <T>(fn: () => T) => T;
  /** Boot ids and kinds by name and by number (both tables only grow). */
  readonly bootIds = new Map<string, number>();
  readonly bootNames = new Map<number, string>();
  readonly kindIds = new Map<string, number>();
  readonly kindNames = new Map<number, string>();
  readonly kindPriority = new Map<number, number>();
  /** Streams whose stored records failed their chain check: held, with the reason. */
  readonly damaged = new Map<string, string>();
  /** Set when this outbox was started from a quarantined corrupt file (the agent raises an alarm). */
  readonly recovery?: OutboxRecovery;
  /** Stream generations: restarted streams' wire names (generation-state.ts). */
  readonly generations: Generations;
  /** Records refused because the outbox was full (telemetry/media) or below the disk floor (evidence). */
  refused = 0;
  totalBytes = 0;
  full = false;
  diskCheckedAt = -Infinity;
  freeDisk = Infinity;

  constructor(
    readonly path: string,
    readonly device: string,
    readonly opts: SqliteOutboxOptions = {},
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
      this.db = openOutboxFile(path, opts.check ?? true);
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
      this.db = openOutboxFile(path, false);
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
    // One transaction wrapper for every append and ack: db.transaction(fn) builds four per call.
    const tx = this.db.transaction((fn: () => unknown) => fn());
    this.inTx = <T>(fn: () => T): T => tx(fn) as T;
    this.generations = new Generations(path, this.db, this.streams);
    if (salvage) {
      const restored = restoreSalvage(this, salvage);
      // A damaged file opens the next generation (an upgrade from an older layout loses nothing).
      const generation = why === "old-layout" ? undefined : this.generations.open(salvage);
      this.recovery = {
        quarantined: salvage.quarantined,
        why,
        heads: salvage.heads.length,
        records: restored,
        gaps: salvage.gaps.length,
        errors: salvage.errors,
        ...(generation !== undefined
          ? {
              generation,
              salvagedHeads: salvage.heads.map((h) => ({
                stream: h.stream,
                seq: h.lastSeq,
                hash: h.lastHash.toString("hex"),
              })),
            }
          : {}),
      };
    }
    loadState(this);
    this.generations.load();
  }

  learnKind(kind: string, kid: number) {
    this.kindIds.set(kind, kid);
    this.kindNames.set(kid, kind);
    this.kindPriority.set(kid, priorityOf(kind));
  }

  append(input: AppendInput[], opts: { durable?: "full" | "normal" } = {}): AppendedRef[] {
    if (input.length === 0) return [];
    // After a declared restart, streams without a salvaged head go under `name#gN` (generation-state.ts).
    const g = this.generations;
    const items = g.active ? input.map((it) => ({ ...it, stream: g.wireName(it.stream) })) : input;
    const canonicals = canonicalItems(items, this.validate);
    const refused = makeRoom(this, items, canonicals);
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
    const run = () => {
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
    };
    try {
      this.inTx(run);
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

  check(stream: string, from: number, to: number): boolean {
    return checkRange(this, stream, from, to);
  }

  /** A stream whose stored records fail their chain is held (never sent, never acked) and reported once. */
  hold(stream: string, e: unknown): void {
    if (!ERR_OUTBOX_CORRUPT.is(e)) throw e;
    if (this.damaged.has(stream)) return;
    const message = (e as Error).message;
    this.damaged.set(stream, message);
    this.opts.onStorage?.({ type: "damaged", stream, message });
  }

  pending(
    limits: BatchLimits,
    after: ReadonlyMap<string, number>,
    gapsSent?: ReadonlySet<string>,
  ): PendingItem[] {
    return readPending(this, limits, after, gapsSent);
  }

  private readonly stmts = new Map<string, Database.Statement>();
  /** Prepared once per outbox, not per call. */
  stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  acknowledge(stream: string, from: number, to: number, hash: Buffer): number {
    return acknowledgeRange(this, stream, from, to, hash);
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
