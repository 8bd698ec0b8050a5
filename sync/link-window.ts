import type { Clock } from "../core/clock.ts";
import type { KeyPair } from "../core/keys.ts";
import { signHead } from "./chain.ts";
import { type Compression, encodeBatch, frameId, noColumns, type OutgoingBatch } from "./codec.ts";
import { PRIORITY } from "./kinds.ts";
import { gapKey, type PendingItem } from "./outbox/types.ts";

/** What an in-flight batch keeps of its runs: their ranges, not their records. */
const NO_COLUMNS = noColumns();

export interface InFlight {
  id: string;
  frame: Buffer;
  items: PendingItem[];
  sentAt: number;
  attempts: number;
  records: number;
  /** Counted against the daily budget (it carries telemetry or media). */
  metered: boolean;
}

/** Builds one up-batch frame from pending items: each segment's head signed by the device. */
export function buildBatch(
  items: PendingItem[],
  p: { device: string; deviceKey: KeyPair; clock: Clock; compression?: Compression },
): InFlight {
  const segments: OutgoingBatch["segments"] = items.map((it) => {
    const end = it.type === "gap" ? it.to : it.last;
    const head = { hash: it.hash, sig: signHead(p.deviceKey.privateKey, p.device, it.stream, end, it.hash) };
    if (it.type === "gap")
      return {
        type: "gap",
        stream: it.stream,
        from: it.from,
        to: it.to,
        reason: it.reason,
        prev: it.prev,
        head,
      };
    return { type: "stored", stream: it.stream, first: it.first, prev: it.prev, columns: it.columns, head };
  });
  // No id: a compact (v2) frame, whose id the cloud derives from its bytes as we do here.
  const batch: OutgoingBatch = { device: p.device, sentAt: p.clock.now().wall, segments };
  const frame = encodeBatch(batch, p.compression ?? "auto");
  const records = items.reduce((n, it) => n + (it.type === "records" ? it.columns.body.length : 0), 0);
  const metered = items.some((it) => it.type === "records" && it.priority >= PRIORITY.telemetry);
  // The frame is all that is resent; keep only each run's range (for a rewind), not its records.
  const kept = items.map((it): PendingItem => (it.type === "records" ? { ...it, columns: NO_COLUMNS } : it));
  return { id: frameId(frame), frame, items: kept, sentAt: 0, attempts: 0, records, metered };
}

/**
 * What has been put in a batch since the link started: the highest seq per stream and the gaps.
 * The outbox is asked only for what lies beyond; a refused batch rewinds so its records go again.
 */
export class SendCursors {
  readonly seqs = new Map<string, number>();
  /** Gaps sent (a gap may cover records already in flight, so not tracked by seq). */
  readonly gaps = new Set<string>();

  advance(items: PendingItem[]): void {
    for (const it of items) {
      if (it.type === "gap") this.gaps.add(gapKey(it.stream, it.from));
      else if (it.last > (this.seqs.get(it.stream) ?? 0)) this.seqs.set(it.stream, it.last);
    }
  }

  rewind(items: PendingItem[]): void {
    for (const it of items) {
      if (it.type === "gap") {
        this.gaps.delete(gapKey(it.stream, it.from));
        continue;
      }
      const cur = this.seqs.get(it.stream) ?? 0;
      if (cur >= it.first) this.seqs.set(it.stream, it.first - 1);
    }
  }
}

/** A metered link's bytes per 24 h of monotonic time for telemetry and media; alarms and evidence are exempt. */
export class DailyBudget {
  used = 0;
  private windowStart = 0;
  constructor(private readonly budget?: number) {}

  /** The least urgent priority that may go now (`PRIORITY.evidence` once the budget is spent). */
  allowed(monoNow: number): number {
    if (this.budget === undefined) return PRIORITY.media;
    if (monoNow - this.windowStart >= 86_400_000) {
      this.windowStart = monoNow;
      this.used = 0;
    }
    return this.used >= this.budget ? PRIORITY.evidence : PRIORITY.media;
  }

  spend(f: InFlight): void {
    if (f.metered) this.used += f.frame.length;
  }
}

/** Batches whose ack is overdue at `monoNow` (to send again). */
export function expired(inflight: Iterable<InFlight>, monoNow: number, ackTimeoutMs: number): InFlight[] {
  return [...inflight].filter((f) => monoNow - f.sentAt >= ackTimeoutMs);
}
