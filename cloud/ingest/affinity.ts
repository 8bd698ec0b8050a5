import { createHash } from "node:crypto";
import type { Logger } from "../../core/log.ts";
import type { Db } from "../db/connect.ts";

/**
 * Device-affine ingest routing (`ingest.routing: affine`, issue #19; docs/scaling.md).
 *
 * Every instance subscribes to every up topic (not shared: its own persistent session) and handles
 * only the devices it owns: the owner of a device is the live instance with the highest random
 * weight for it (rendezvous hashing), over the members of `ingest_members`, a table in which every
 * instance heartbeats every `ingest.heartbeat`; live = a heartbeat within `ingest.liveness`. An
 * instance that stops heartbeating loses its devices to the others once the window passes; a
 * clean stop deletes its row at once. One device's batches are then committed by one instance, so
 * two instances' groups no longer lock the same stream rows, and a batch is no longer taken by one
 * instance before its predecessor is committed by the other (which sent it down the per-batch path).
 *
 * Why dropping a batch of a device this instance does not own loses nothing: the subscriber
 * releases it with a PUBACK and nothing else, and a gateway deletes a record only on the signed
 * commit ack of its batch and resends every unacked batch after its ack timeout; the owner holds
 * the same message in its own session, and commits it (or a later resend of it). During a
 * membership change two instances may both own a device for a while (each decides on its own
 * view of the table): that is safe because the evidence store is already exactly-once under
 * concurrent commits of one device's batches by several instances (per-stream row locks; the
 * shared-subscription mode relies on the same). A batch that nobody owns in some view (an owner
 * died and the survivors still count it live) is resent by its gateway until someone does. So a
 * transition costs latency (at most the liveness window plus the gateway's ack timeout), never a
 * lost or a duplicated record. Nothing here changes what the evidence store does.
 *
 * Liveness compares one instance's clock with heartbeats written by the others' clocks: keep the
 * instances' clocks synchronised (NTP) to well under the window. A skewed clock only changes when a
 * device moves, which is safe as above.
 */

/** The weight of `member` for `device` (64 bits of SHA-256 over both: stable across processes and versions). */
export function weight(member: string, device: string): bigint {
  return createHash("sha256").update(member).update("\0").update(device).digest().readBigUInt64BE(0);
}

/**
 * The owner of `device` among `members`: the highest weight (ties, never seen with 64 bits, go to
 * the smaller name). Stable (the same members give the same owner in every process), balanced (each
 * member owns ~1/n of the devices), minimal movement (a member joining takes ~1/(n+1) of the devices,
 * all from the others; a member leaving gives only its own devices away). Undefined without members.
 */
export function ownerOf(device: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestW = -1n;
  for (const m of members) {
    const w = weight(m, device);
    if (w > bestW || (w === bestW && best !== undefined && m < best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}

export interface MemberRow {
  instance: string;
  heartbeat_at: number;
}

/** The live members at `now`: a heartbeat within `livenessMs`, always including `self`; sorted. */
export function liveMembers(
  rows: readonly MemberRow[],
  self: string,
  now: number,
  livenessMs: number,
): string[] {
  const live = new Set(rows.filter((r) => now - Number(r.heartbeat_at) <= livenessMs).map((r) => r.instance));
  live.add(self);
  return [...live].sort();
}

/**
 * The owner function over a membership view, with a per-device cache cleared whenever the view
 * changes (one hash per member per device per change, not per batch).
 */
export class Ownership {
  private members: string[];
  private cache = new Map<string, boolean>();
  constructor(readonly self: string) {
    this.members = [self];
  }
  /** Sets the live members (self is always one); returns whether the view changed. */
  set(members: readonly string[]): boolean {
    const next = [...new Set([...members, this.self])].sort();
    if (next.length === this.members.length && next.every((m, i) => m === this.members[i])) return false;
    this.members = next;
    this.cache.clear();
    return true;
  }
  get view(): readonly string[] {
    return this.members;
  }
  owns(device: string): boolean {
    let o = this.cache.get(device);
    if (o === undefined) {
      o = ownerOf(device, this.members) === this.self;
      if (this.cache.size >= 100_000) this.cache.clear();
      this.cache.set(device, o);
    }
    return o;
  }
}

export interface MembershipOptions {
  instance: string;
  heartbeatMs: number;
  livenessMs: number;
  now?: () => number;
  log: Logger;
}

/**
 * This instance's row in `ingest_members`, heartbeated every `heartbeatMs`, and the live members
 * read back with each heartbeat. A failed heartbeat (database down) keeps the last view: other
 * instances may then also own this instance's devices, which is safe (see above).
 */
export class Membership {
  readonly ownership: Ownership;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly now: () => number;
  /** Heartbeats written, view changes seen, heartbeats that failed. */
  readonly stats = { heartbeats: 0, changes: 0, failures: 0 };
  constructor(
    private readonly db: Db,
    private readonly o: MembershipOptions,
  ) {
    this.ownership = new Ownership(o.instance);
    this.now = o.now ?? Date.now;
  }

  owns(device: string): boolean {
    return this.ownership.owns(device);
  }

  /** Writes the first heartbeat and reads the members (so the view is right before the first batch), then beats on a timer. */
  async start(): Promise<void> {
    await this.write(true);
    await this.refresh();
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.beat().finally(() => {
        this.beating = undefined;
      });
    }, this.o.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat: writes this instance's time, reads the live members. */
  async beat(): Promise<void> {
    try {
      await this.write(false);
      this.stats.heartbeats++;
      await this.refresh();
    } catch (e) {
      this.stats.failures++;
      this.o.log.warn({ err: (e as Error).message }, "ingest membership heartbeat failed");
    }
  }

  /** Upserts this instance's row (a row lost meanwhile comes back with the next heartbeat). */
  private async write(starting: boolean): Promise<void> {
    const t = this.now();
    await this.db.kysely
      .insertInto("ingest_members")
      .values({ instance: this.o.instance, heartbeat_at: t, started_at: t })
      .onConflict((oc) =>
        oc
          .column("instance")
          .doUpdateSet(starting ? { heartbeat_at: t, started_at: t } : { heartbeat_at: t }),
      )
      .execute();
  }

  private async refresh(): Promise<void> {
    const rows = await this.db.kysely
      .selectFrom("ingest_members")
      .select(["instance", "heartbeat_at"])
      .execute();
    const members = liveMembers(rows, this.o.instance, this.now(), this.o.livenessMs);
    if (this.ownership.set(members)) {
      this.stats.changes++;
      this.o.log.info({ members }, "ingest members changed");
    }
  }

  /** A clean stop: no more heartbeats, and the row deleted at once so the others take its devices now. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    try {
      await this.db.kysely.deleteFrom("ingest_members").where("instance", "=", this.o.instance).execute();
    } catch (e) {
      this.o.log.warn(
        { err: (e as Error).message },
        "ingest membership row not removed (expires with the window)",
      );
    }
  }
}
