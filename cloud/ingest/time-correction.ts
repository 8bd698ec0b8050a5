import { sql } from "kysely";
import type { Db } from "../db/connect.ts";
import type { VerifiedSegment } from "./verify.ts";

/** What one committed batch gives the time corrector. */
export interface CommittedBoots {
  device: string;
  segments: VerifiedSegment[];
}

/** (device, boot) pairs a statement names, at most (a group of 64 batches names far fewer). */
const CHUNK = 200;

/**
 * Time without a real-time clock (Pi 4, Zero 2 W): records captured before the clock synced carry a
 * stale wall time but a valid (boot id, monotonic) pair. Once any record of that boot arrives
 * synced, wall − mono is that boot's offset and every unsynced record of the boot gets
 * t_corrected = t_mono + offset, now and as later ones arrive. Runs after commit: a failure here
 * never loses a record, and the next batch of the boot retries it (an offset is cached only once its
 * correction ran).
 *
 * A whole commit group at once (issue #19): every device's first batch after a start learns its
 * boot (insert, read back, correct), which one device at a time cost three statements per batch
 * and made a fleet's first minute after a restart its slowest. Now it is at most three statements
 * per group: one insert of every new boot, one read of every offset not cached, one update of the
 * records of every boot to correct; none once every boot of the group is cached and synced.
 */
export class TimeCorrector {
  /** device\0boot → offset; a boot learnt once is never re-read. */
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async afterCommit(device: string, segments: VerifiedSegment[]): Promise<number> {
    return this.afterCommitMany([{ device, segments }]);
  }

  /** Every batch of a commit group: returns the records corrected. */
  async afterCommitMany(batches: CommittedBoots[]): Promise<number> {
    // Per (device, boot): the offset a synced record gives (the first one's), and whether any
    // record of it came unsynced.
    const learn = new Map<string, { device: string; boot: string; offset: number }>();
    const unsynced = new Map<string, { device: string; boot: string }>();
    for (const b of batches)
      for (const s of b.segments) {
        if (s.type !== "records") continue;
        for (const r of s.records) {
          const k = `${b.device}\0${r.t.boot}`;
          if (this.offsets.has(k)) {
            if (!r.t.synced) unsynced.set(k, { device: b.device, boot: r.t.boot });
          } else if (r.t.synced) {
            if (!learn.has(k))
              learn.set(k, { device: b.device, boot: r.t.boot, offset: r.t.wall - r.t.mono });
          } else unsynced.set(k, { device: b.device, boot: r.t.boot });
        }
      }
    if (learn.size === 0 && unsynced.size === 0) return 0;
    const learning = [...learn.values()];
    for (let i = 0; i < learning.length; i += CHUNK)
      await this.db.kysely
        .insertInto("boot_clocks")
        .values(
          learning.slice(i, i + CHUNK).map((l) => ({
            device: l.device,
            boot: l.boot,
            offset_ms: l.offset,
            learnt_at: this.now(),
          })),
        )
        .onConflict((oc) => oc.columns(["device", "boot"]).doNothing())
        .execute();
    // Another instance may have learnt a boot first: the stored offset wins, so every instance agrees.
    const need = [...learning, ...[...unsynced].filter(([k]) => !this.offsets.has(k)).map(([, u]) => u)];
    const stored = await this.stored(need);
    // Learnt boots are corrected even when their insert conflicted (a learner that died between its
    // insert and its update is repaired so); unsynced records of known boots as they arrive.
    const correct: Array<{ key: string; device: string; boot: string; offset: number }> = [];
    for (const [k, l] of learn)
      correct.push({ key: k, device: l.device, boot: l.boot, offset: stored.get(k) ?? l.offset });
    for (const [k, u] of unsynced) {
      const offset = this.offsets.get(k) ?? stored.get(k);
      if (offset !== undefined && !learn.has(k)) correct.push({ key: k, ...u, offset });
    }
    let corrected = 0;
    for (let i = 0; i < correct.length; i += CHUNK) {
      const part = correct.slice(i, i + CHUNK);
      corrected += await this.correct(part);
      for (const c of part) this.offsets.set(c.key, c.offset);
    }
    return corrected;
  }

  /** The stored offset of each (device, boot), by `device\0boot`. */
  private async stored(pairs: Array<{ device: string; boot: string }>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < pairs.length; i += CHUNK) {
      const part = pairs.slice(i, i + CHUNK);
      const rows = await this.db.kysely
        .selectFrom("boot_clocks")
        .select(["device", "boot", "offset_ms"])
        .where((eb) => eb.or(part.map((p) => eb.and([eb("device", "=", p.device), eb("boot", "=", p.boot)]))))
        .execute();
      for (const r of rows) out.set(`${r.device}\0${r.boot}`, Number(r.offset_ms));
    }
    return out;
  }

  /** One UPDATE for every (device, boot): its unsynced, uncorrected records get t_mono + offset. */
  private async correct(part: Array<{ device: string; boot: string; offset: number }>): Promise<number> {
    const offset = sql<number>`CASE ${sql.join(
      part.map((p) => sql`WHEN device = ${p.device} AND t_boot = ${p.boot} THEN CAST(${p.offset} AS BIGINT)`),
      sql` `,
    )} END`;
    const res = await this.db.kysely
      .updateTable("records")
      .set((eb) => ({ t_corrected: eb("t_mono", "+", offset) }))
      .where((eb) => eb.or(part.map((p) => eb.and([eb("device", "=", p.device), eb("t_boot", "=", p.boot)]))))
      .where("t_synced", "=", 0)
      .where("t_corrected", "is", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows ?? 0);
  }
}
