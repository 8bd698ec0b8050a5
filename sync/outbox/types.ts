import type { CaptureTime } from "../../core/clock.ts";
import type { RecordColumns } from "../codec.ts";

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
  close(): void;
}

/** How the link names a gap it has put in a batch. */
export const gapKey = (stream: string, from: number): string => `${stream}\0${from}`;
