import type { Db } from "../db/connect.ts";
import type { VerifiedSegment } from "./verify.ts";

/**
 * Time without a real-time clock (Pi 4, Zero 2 W): records captured before the clock synced carry a
 * stale wall time but a valid (boot id, monotonic) pair. Once any record of that boot arrives
 * synced, wall − mono is that boot's offset and every unsynced record of the boot gets
 * t_corrected = t_mono + offset, now and as later ones arrive. Runs after commit: a failure here
 * never loses a record, and the next batch of the boot retries it.
 */
export class TimeCorrector {
  /** device\0boot → offset; a boot learnt once is never re-read. */
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async afterCommit(device: string, segments: VerifiedSegment[]): Promise<number> {
    const synced = new Map<string, number>();
    const unsynced = new Set<string>();
    for (const s of segments) {
      if (s.type !== "records") continue;
      for (const r of s.records) {
        if (r.t.synced) {
          if (!synced.has(r.t.boot)) synced.set(r.t.boot, r.t.wall - r.t.mono);
        } else unsynced.add(r.t.boot);
      }
    }
    let corrected = 0;
    for (const [boot, offset] of synced) {
      if (this.offsets.has(`${device}\0${boot}`)) continue;
      const learnt = await this.learn(device, boot, offset);
      corrected += await this.correct(device, boot, learnt);
    }
    for (const boot of unsynced) {
      const off = this.offsets.get(`${device}\0${boot}`) ?? (await this.lookup(device, boot));
      if (off !== undefined) corrected += await this.correct(device, boot, off);
    }
    return corrected;
  }

  private async learn(device: string, boot: string, offset: number): Promise<number> {
    await this.db.kysely
      .insertInto("boot_clocks")
      .values({ device, boot, offset_ms: offset, learnt_at: this.now() })
      .onConflict((oc) => oc.columns(["device", "boot"]).doNothing())
      .execute();
    // Another instance may have learnt it first: the stored offset wins, so every instance agrees.
    return (await this.lookup(device, boot)) ?? offset;
  }

  private async lookup(device: string, boot: string): Promise<number | undefined> {
    const r = await this.db.kysely
      .selectFrom("boot_clocks")
      .select("offset_ms")
      .where("device", "=", device)
      .where("boot", "=", boot)
      .executeTakeFirst();
    if (r) this.offsets.set(`${device}\0${boot}`, Number(r.offset_ms));
    return r ? Number(r.offset_ms) : undefined;
  }

  private async correct(device: string, boot: string, offset: number): Promise<number> {
    const res = await this.db.kysely
      .updateTable("records")
      .set((eb) => ({ t_corrected: eb("t_mono", "+", offset) }))
      .where("device", "=", device)
      .where("t_boot", "=", boot)
      .where("t_synced", "=", 0)
      .where("t_corrected", "is", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows ?? 0);
  }
}
