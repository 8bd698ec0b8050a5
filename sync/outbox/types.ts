import type { CaptureTime } from "../../core/clock.ts";
import type { RecordColumns } from "../codec.ts";
import type { EvictedRange } from "./evict.ts";

/** What a source hands the outbox. */
export interface AppendInput {
  stream: string;
  kind: string;
  body: unknown;
  t: CaptureTime;
}

export interface AppendedRef {
  stream: string;
  seq: number;
  hash: Buffer;
}

/** A pending run of consecutive records of one stream, ready to send. */
export interface PendingRun {
  type: "records";
  stream: string;
  first: number;
  prev: Buffer;
  /** The run's records as stored, column by column (columnRecords() gives them as records). */
  columns: RecordColumns;
  last: number;
  hash: Buffer;
  bytes: number;
  priority: number;
}

/** An evicted range still to be reported to the cloud. */
export interface PendingGap {
  type: "gap";
  stream: string;
  from: number;
  to: number;
  reason: string;
  prev: Buffer;
  hash: Buffer;
  priority: number;
}

export type PendingItem = PendingRun | PendingGap;

export interface StreamStatus {
  stream: string;
  lastSeq: number;
  ackedSeq: number;
  pending: number;
  pendingBytes: number;
  evicted: number;
  /** Set when the stream's stored records failed their chain check: it is held, not sent. */
  damaged?: string;
}

/** What an outbox tells its owner about its storage (the agent turns these into alarms). */
export type StorageEvent =
  | { type: "full"; active: boolean; pendingBytes: number; freeDisk: number }
  | { type: "evicted"; ranges: EvictedRange[] }
  | { type: "damaged"; stream: string; message: string };

/** Set when an outbox started from a quarantined file (corrupt, empty, or of an older layout). */
export interface OutboxRecovery {
  /** Where the damaged file was moved (it is never deleted). */
  quarantined: string;
  /** Why: `corrupt`, `empty` (a zero-length file: every head lost) or `old-layout` (an upgrade). */
  why: string;
  /** Stream heads read back from the file (streams continue where they were). */
  heads: number;
  /** Pending records carried over into the fresh file. */
  records: number;
  gaps: number;
  /** Tables or pages that could not be read, and how the file was read (`.recover`, header repair). */
  errors: string[];
  /**
   * The generation a damaged file opened (not set for an upgrade): streams not among
   * `salvagedHeads` restart at seq 1 as `name#g<generation>`, a declared restart (docs/protocol.md).
   */
  generation?: number;
  /** The heads salvage read back (those streams continue their seqs and chains). */
  salvagedHeads?: Array<{ stream: string; seq: number; hash: string }>;
}

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
  /** Only streams of this priority or more urgent (a metered link over its daily budget). */
  maxPriority?: number;
}

/**
 * The durable queue between sources and the link (after Aedes's pluggable persistence): appends
 * are durable when they return; nothing leaves until the cloud's signed commit ack names it.
 */
export interface Outbox {
  readonly device: string;
  append(items: AppendInput[], opts?: { durable?: "full" | "normal" }): AppendedRef[];
  /** Pending items in send order (priority, then stream, then seq), skipping seqs ≤ `after[stream]`. */
  pending(
    limits: BatchLimits,
    after: ReadonlyMap<string, number>,
    gapsSent?: ReadonlySet<string>,
  ): PendingItem[];
  /** The cloud committed `stream` `from..to` whose last link is `hash`: delete them. Returns rows deleted. */
  acknowledge(stream: string, from: number, to: number, hash: Buffer): number;
  /**
   * Re-checks stored records `from..to` of `stream` against their chain (after the cloud refused
   * them as not chaining): false, and the stream held, when they no longer match.
   */
  check?(stream: string, from: number, to: number): boolean;
  heads(): Array<{ stream: string; seq: number; hash: Buffer }>;
  status(): StreamStatus[];
  /** True the first time a command id is seen; remembered as long as the outbox, so a replay is ignored. */
  firstSight(id: string, at?: number): boolean;
  /** Set when this outbox started from a quarantined file: the agent raises an alarm. */
  readonly recovery?: OutboxRecovery;
  close(): void;
}

/** How the link names a gap it has put in a batch. */
export const gapKey = (stream: string, from: number): string => `${stream}\0${from}`;
