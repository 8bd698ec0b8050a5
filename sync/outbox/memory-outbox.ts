import { genesis, linkFromColumns } from "../chain.ts";
import { noColumns } from "../codec.ts";
import { PRIORITY, priorityOf } from "../kinds.ts";
import { canonicalItems } from "./canonical-items.ts";
import type {
  AppendedRef,
  AppendInput,
  BatchLimits,
  Outbox,
  PendingItem,
  PendingRun,
  StreamStatus,
} from "./types.ts";

interface Row {
  seq: number;
  kind: string;
  wall: number;
  mono: number;
  boot: string;
  synced: boolean;
  body: string;
  prev: Buffer;
  hash: Buffer;
  bytes: number;
}

interface MemStream {
  lastSeq: number;
  lastHash: Buffer;
  ackedSeq: number;
  priority: number;
  /** Pending rows in seq order. */
  rows: Row[];
}

/**
 * An Outbox in memory (after Aedes's in-memory persistence): the same contract as the SQLite one
 * (outbox-contract.ts runs against both) without durability, quota or eviction. For unit tests of
 * the agent and the link, and as the plain reference the SQLite outbox's shortcuts are checked against.
 */
export class MemoryOutbox implements Outbox {
  private readonly streams = new Map<string, MemStream>();
  private readonly commands = new Set<string>();
  closed = false;

  constructor(
    readonly device: string,
    private readonly opts: { validate?: boolean } = {},
  ) {}

  append(items: AppendInput[]): AppendedRef[] {
    const canonicals = canonicalItems(items, this.opts.validate ?? true);
    return items.map((it, i) => {
      let s = this.streams.get(it.stream);
      if (!s) {
        const g = genesis(this.device, it.stream);
        s = { lastSeq: 0, lastHash: g, ackedSeq: 0, priority: priorityOf(it.kind), rows: [] };
        this.streams.set(it.stream, s);
      }
      const seq = s.lastSeq + 1;
      const body = canonicals[i]!;
      const { wall, mono, boot, synced } = it.t;
      const hash = linkFromColumns(
        s.lastHash,
        this.device,
        it.stream,
        seq,
        it.kind,
        body,
        wall,
        boot,
        mono,
        synced,
      );
      s.rows.push({
        seq,
        kind: it.kind,
        wall,
        mono,
        boot,
        synced,
        body,
        prev: s.lastHash,
        hash,
        bytes: body.length + 64,
      });
      s.lastSeq = seq;
      s.lastHash = hash;
      s.priority = Math.min(s.priority, priorityOf(it.kind));
      return { stream: it.stream, seq, hash };
    });
  }

  pending(limits: BatchLimits, after: ReadonlyMap<string, number>): PendingItem[] {
    const out: PendingItem[] = [];
    let records = 0;
    let bytes = 0;
    const order = [...this.streams.entries()]
      .filter(([, s]) => s.rows.length > 0 && s.priority <= (limits.maxPriority ?? PRIORITY.media))
      .sort((a, b) => a[1].priority - b[1].priority || (a[0] < b[0] ? -1 : 1));
    for (const [stream, s] of order) {
      if (records >= limits.maxRecords || bytes >= limits.maxBytes) break;
      const from = after.get(stream) ?? 0;
      let run: PendingRun | undefined;
      for (const r of s.rows) {
        if (r.seq <= from) continue;
        if (records >= limits.maxRecords) break;
        if (bytes + r.bytes > limits.maxBytes && records > 0) break;
        if (!run || r.seq !== run.last + 1) {
          run = {
            type: "records",
            stream,
            first: r.seq,
            prev: r.prev,
            columns: noColumns(),
            last: r.seq - 1,
            hash: r.prev,
            bytes: 0,
            priority: priorityOf(r.kind),
          };
          out.push(run);
        }
        const c = run.columns;
        c.wall.push(r.wall);
        c.mono.push(r.mono);
        c.synced.push(r.synced);
        c.kind.push(r.kind);
        c.boot.push(r.boot);
        c.body.push(r.body);
        run.last = r.seq;
        run.hash = r.hash;
        run.bytes += r.bytes;
        run.priority = Math.min(run.priority, priorityOf(r.kind));
        records++;
        bytes += r.bytes;
      }
    }
    return out;
  }

  acknowledge(stream: string, from: number, to: number, hash: Buffer): number {
    const s = this.streams.get(stream);
    const last = s?.rows.find((r) => r.seq === to);
    if (!s || !last) return 0;
    // The ack must name the link we hold at `to`; anything else is not about our records.
    if (!last.hash.equals(hash)) return -1;
    const before = s.rows.length;
    s.rows = s.rows.filter((r) => r.seq < from || r.seq > to);
    s.ackedSeq = Math.max(s.ackedSeq, to);
    return before - s.rows.length;
  }

  /** Rows in memory cannot be altered behind the outbox's back: the chain holds. */
  check(): boolean {
    return true;
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
        pending: s.rows.length,
        pendingBytes: s.rows.reduce((n, r) => n + r.bytes, 0),
        evicted: 0,
      }))
      .sort((a, b) => (a.stream < b.stream ? -1 : 1));
  }

  firstSight(id: string): boolean {
    if (this.commands.has(id)) return false;
    this.commands.add(id);
    return true;
  }

  close(): void {
    this.closed = true;
  }
}
