import { createHash } from "node:crypto";
import type { BarnlinkError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import type { Db } from "../db/connect.ts";

export interface RejectCaps {
  /** Bytes of each rejected payload kept (its first bytes); the hash covers the whole payload. */
  keepBytes: number;
  /** Samples stored per device per minute, and in all per minute; the rest are only counted. */
  perDevicePerMinute: number;
  globalPerMinute: number;
  /** Samples kept per device, and in all; older ones are pruned. */
  keepPerDevice: number;
  keepTotal: number;
  /** Samples older than this are pruned. */
  maxAgeMs: number;
}

export const DEFAULT_REJECT_CAPS: RejectCaps = {
  keepBytes: 256,
  perDevicePerMinute: 30,
  globalPerMinute: 300,
  keepPerDevice: 1000,
  keepTotal: 50_000,
  maxAgeMs: 30 * 86_400_000,
};

const MINUTE = 60_000;
/** Prune once every this many stored samples (and on the first). */
const PRUNE_EVERY = 200;

/**
 * The cost of junk, bounded: every reject is counted (in memory, and in the next stored sample's
 * `suppressed`), but only a capped number per device and per minute is written, each as a sample
 * (hash, size, first bytes, code, reason), and old samples are pruned per device, in all and by age.
 * A flood thus costs a decode and a counter per message, not a database row of up to 64 KiB.
 */
export class RejectLog {
  private windowStart = 0;
  private windowTotal = 0;
  private readonly perDevice = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();
  private stored = 0;
  /** Rejects counted but not stored (over a cap), since start. */
  dropped = 0;
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly caps: RejectCaps = DEFAULT_REJECT_CAPS,
    private readonly log: Logger = silentLogger,
  ) {}

  async record(topic: string, device: string | null, payload: Buffer, err: BarnlinkError): Promise<boolean> {
    const now = this.now();
    if (now - this.windowStart >= MINUTE) {
      this.windowStart = now;
      this.windowTotal = 0;
      this.perDevice.clear();
    }
    // Device ids come from topics anyone may make up: past a bound, they share one counter.
    const key =
      device !== null && (this.suppressed.has(device) || this.suppressed.size < 10_000) ? device : "";
    const n = this.perDevice.get(key) ?? 0;
    if (n >= this.caps.perDevicePerMinute || this.windowTotal >= this.caps.globalPerMinute) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      this.dropped++;
      return false;
    }
    this.perDevice.set(key, n + 1);
    this.windowTotal++;
    const skipped = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    try {
      await this.db.kysely
        .insertInto("rejects")
        .values({
          device,
          topic: topic.slice(0, 512),
          code: err.code,
          reason: err.message.slice(0, 2000),
          payload_b64: payload.subarray(0, this.caps.keepBytes).toString("base64"),
          payload_bytes: payload.length,
          payload_sha256: createHash("sha256").update(payload).digest("hex"),
          suppressed: skipped,
          received_at: now,
        })
        .execute();
      if (this.stored++ % PRUNE_EVERY === 0) await this.prune(now);
      return true;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "could not record a rejected message");
      return false;
    }
  }

  /** Deletes samples over the per-device and total caps (oldest first) and older than maxAge. */
  async prune(now = this.now()): Promise<void> {
    const k = this.db.kysely;
    await k
      .deleteFrom("rejects")
      .where("received_at", "<", now - this.caps.maxAgeMs)
      .execute();
    const over = await k
      .selectFrom("rejects")
      .select(["device", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("device")
      .having((eb) => eb.fn.countAll(), ">", this.caps.keepPerDevice)
      .execute();
    for (const o of over) {
      const dev = o.device;
      const cutoff = await k
        .selectFrom("rejects")
        .select("id")
        .where((eb) => (dev === null ? eb("device", "is", null) : eb("device", "=", dev)))
        .orderBy("id", "desc")
        .offset(this.caps.keepPerDevice)
        .limit(1)
        .executeTakeFirst();
      if (cutoff)
        await k
          .deleteFrom("rejects")
          .where((eb) => (dev === null ? eb("device", "is", null) : eb("device", "=", dev)))
          .where("id", "<=", cutoff.id)
          .execute();
    }
    const total = await k
      .selectFrom("rejects")
      .select("id")
      .orderBy("id", "desc")
      .offset(this.caps.keepTotal)
      .limit(1)
      .executeTakeFirst();
    if (total) await k.deleteFrom("rejects").where("id", "<=", total.id).execute();
  }
}
