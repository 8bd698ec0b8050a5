import type { CaptureTime } from "../core/clock.ts";

/** The up-batch as the agent builds it and the cloud reads it (its frame: codec.ts, docs/protocol.md). */
export interface TimedBody {
  t: CaptureTime;
  kind: string;
  body: unknown;
}

export interface RecordSegment {
  type: "records";
  stream: string;
  first: number;
  /** Link before `first`. */
  prev: Buffer;
  records: TimedBody[];
  /** Link after the last record, and the device's signature over it. */
  head: { hash: Buffer; sig: Buffer };
}

export interface GapSegment {
  type: "gap";
  stream: string;
  from: number;
  to: number;
  reason: string;
  /** Link before `from` and link at `to`: the chain verifies across the evicted range. */
  prev: Buffer;
  head: { hash: Buffer; sig: Buffer };
}

export type Segment = RecordSegment | GapSegment;

export interface Batch {
  device: string;
  /** 128-bit id (hex) the ack names: random in a v1 frame, derived from the frame's bytes in v2 (`frameId`). */
  id: string;
  sentAt: number;
  segments: Segment[];
}

/**
 * Records of one stream as the outbox stores them, column by column: integer times, and each body's
 * canonical JSON text, never parsed. The sender's form: encodeBatch writes the frame straight from
 * it, with no object per record (a gateway draining a backlog allocates a fraction of what records
 * would cost). On the wire it is the same record segment.
 */
export interface RecordColumns {
  wall: number[];
  mono: number[];
  synced: boolean[];
  kind: string[];
  boot: string[];
  /** Canonical JSON text of each body. */
  body: string[];
}

export interface StoredSegment {
  type: "stored";
  stream: string;
  first: number;
  prev: Buffer;
  columns: RecordColumns;
  head: { hash: Buffer; sig: Buffer };
}

/**
 * What encodeBatch takes: decoded segments or stored ones. With an `id`, a v1 frame carrying it;
 * without, the compact v2 frame whose id is derived from its bytes (`frameId`).
 */
export interface OutgoingBatch extends Omit<Batch, "segments" | "id"> {
  id?: string;
  segments: Array<Segment | StoredSegment>;
}

/** Columns holding no records yet. */
export const noColumns = (): RecordColumns => ({
  wall: [],
  mono: [],
  synced: [],
  kind: [],
  boot: [],
  body: [],
});

/** The records of stored columns (bodies parsed). */
export function columnRecords(c: RecordColumns): TimedBody[] {
  return c.body.map((b, i) => ({
    t: { wall: c.wall[i]!, boot: c.boot[i]!, mono: c.mono[i]!, synced: c.synced[i]! },
    kind: c.kind[i]!,
    body: JSON.parse(b),
  }));
}
