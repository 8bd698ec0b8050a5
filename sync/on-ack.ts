import { createHash, type KeyObject } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import type { LinkStats } from "./link.ts";
import type { InFlight, SendCursors } from "./link-window.ts";
import { type Ack, verifyAck } from "./messages.ts";
import type { Outbox } from "./outbox/types.ts";

/** What the ack handler may touch of the link (a narrow context, not the link itself). */
export interface AckContext {
  device: string;
  cloudKey: KeyObject;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  stats: LinkStats;
  inflight: Map<string, InFlight>;
  cursors: SendCursors;
  /** Ask for a send after `ms`. */
  kickAfter(ms: number): void;
  emit(event: "forged-ack" | "acked" | "rejected", arg: unknown): void;
  /** Pause before records a rejected batch carried go again. */
  retryAfterMs: number;
}

/**
 * A message on the ack topic. Records leave the outbox only when a signed commit ack names them with
 * the link the agent holds; a forged ack is counted and ignored; a rejected batch is rewound and sent
 * again after a pause (never dropped), and one refused as not chaining has its records re-checked.
 */
export function onAck(ctx: AckContext, payload: Buffer): void {
  const v = verifyAck(ctx.cloudKey, payload, ctx.device);
  if (!v.ok) {
    ctx.stats.forgedAcks++;
    ctx.log.warn({ reason: v.reason }, "ignored an ack that does not verify");
    ctx.emit("forged-ack", v.reason);
    return;
  }
  const ack = v.msg;
  if (ack.status === "committed") committed(ctx, ack);
  else rejected(ctx, ack);
  ctx.stats.inFlight = ctx.inflight.size;
  ctx.kickAfter(0);
}

function committed(ctx: AckContext, ack: Ack) {
  let n = 0;
  for (const s of ack.segments) {
    const d = ctx.outbox.acknowledge(s.stream, s.from, s.to, Buffer.from(s.hash, "hex"));
    if (d < 0) ctx.log.warn({ stream: s.stream, to: s.to }, "ack names a link we do not hold; ignored");
    else n += d;
  }
  ctx.stats.recordsAcked += n;
  ctx.stats.batchesAcked++;
  ctx.stats.lastAckAt = ctx.clock.now().wall;
  ctx.inflight.delete(ack.batch);
  ctx.emit("acked", { batch: ack.batch, records: n });
}

function rejected(ctx: AckContext, ack: Ack) {
  // A rejection of bytes we never sent (a copy of our batch altered by someone else) or of a batch
  // we do not have in flight: not ours to act on (#13).
  const mine = ctx.inflight.get(ack.batch);
  if (!mine || (ack.frame && createHash("sha256").update(mine.frame).digest("hex") !== ack.frame)) {
    ctx.log.debug({ batch: ack.batch }, "ignored a rejection of a frame we did not send");
    return;
  }
  ctx.stats.batchesRejected++;
  ctx.log.error(
    { batch: ack.batch, code: ack.code, reason: ack.reason },
    "cloud rejected a batch; will retry later",
  );
  ctx.emit("rejected", ack);
  const f = ctx.inflight.get(ack.batch);
  if (!f) return;
  // Refused as not chaining: our stored records may have been altered on disk. The outbox
  // re-checks them and holds a stream that fails (its alarm says so) instead of resending it.
  if (ack.code === "BL_CHAIN_BROKEN")
    for (const it of f.items)
      if (it.type === "records" && ctx.outbox.check?.(it.stream, it.first, it.last) === false)
        ctx.log.error({ stream: it.stream }, "stored records fail their chain: stream held");
  ctx.inflight.delete(ack.batch);
  // Rewind so the records are sent again after a pause; they are never dropped here.
  ctx.cursors.rewind(f.items);
  ctx.kickAfter(ctx.retryAfterMs);
}
