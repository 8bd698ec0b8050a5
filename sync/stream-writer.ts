import { randomBytes } from "node:crypto";
import type { KeyPair } from "../core/keys.ts";
import { genesis, link, signHead } from "./chain.ts";
import type { Batch, GapSegment, RecordSegment, TimedBody } from "./codec.ts";

/**
 * Chains and signs segments of one stream without an outbox: the load generator's lightweight
 * gateways and tests that need hand-made (out-of-order, unsynchronised) batches use it. The agent
 * itself goes through the outbox, which computes the same links durably.
 */
export class StreamWriter {
  seq = 0;
  hash: Buffer;

  constructor(
    readonly device: string,
    readonly stream: string,
    private readonly key: KeyPair,
  ) {
    this.hash = genesis(device, stream);
  }

  /** The next records of the stream as one signed segment. */
  next(records: TimedBody[]): RecordSegment {
    const first = this.seq + 1;
    const prev = this.hash;
    let h = prev;
    records.forEach((r, i) => {
      h = link(h, { device: this.device, stream: this.stream, seq: first + i, ...r });
    });
    this.seq += records.length;
    this.hash = h;
    const sig = signHead(this.key.privateKey, this.device, this.stream, this.seq, h);
    return { type: "records", stream: this.stream, first, prev, records, head: { hash: h, sig } };
  }

  /** Skips `n` records as evicted: a signed gap whose links chain across them. */
  gap(records: TimedBody[], reason = "quota"): GapSegment {
    const seg = this.next(records);
    return {
      type: "gap",
      stream: this.stream,
      from: seg.first,
      to: this.seq,
      reason,
      prev: seg.prev,
      head: seg.head,
    };
  }
}

export function batchOf(device: string, segments: Batch["segments"], sentAt = Date.now()): Batch {
  return { device, id: randomBytes(16).toString("hex"), sentAt, segments };
}
