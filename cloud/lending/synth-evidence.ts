import type { Kysely } from "kysely";
import { canonicalJson } from "../../core/canonical.ts";
import { genesis, linkFromParts } from "../../sync/chain.ts";
import type { DB } from "../db/schema.ts";
import { at, bandAt, type SpeciesProfile, survival } from "./profile.ts";
import type { Scenario } from "./scenario-schema.ts";

const H = 3_600_000;
const D = 24 * H;

interface Pending {
  stream: string;
  kind: string;
  t: number;
  body: unknown;
  receivedAt: number;
}

/**
 * A synthetic barn gateway for scenarios: hourly readings, daily (or demanded) censuses, a silo
 * that falls as the herd eats and rises on deliveries. Records are hash-chained like the real
 * gateway's (sync/chain.ts) and land in `records`/`streams` when the uplink would deliver them.
 */
export class SyntheticBarn {
  private silo = 500;
  private seqs = new Map<string, { seq: number; prev: Buffer }>();
  private pending: Pending[] = [];
  private rng: () => number;
  private lastCensus = -Infinity;
  censusEveryMs = D;

  constructor(
    private readonly s: Scenario,
    private readonly profile: SpeciesProfile,
    readonly device: string,
    readonly barn: string,
    private readonly placedAt: number,
  ) {
    let x = s.seed * 2654435761;
    this.rng = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
  }

  private noise(a: number) {
    return (this.rng() * 2 - 1) * a;
  }

  private active(type: string, day: number) {
    return this.s.events.filter(
      (e) =>
        e.type === type &&
        day >= ("day" in e ? e.day : e.fromDay) &&
        ("days" in e ? day < e.fromDay + e.days : true),
    );
  }

  alive(day: number): number {
    let head = this.s.head * (day < 0 ? 1 : survival(this.profile, day));
    for (const e of this.active("headDrop", day)) if (e.type === "headDrop") head *= 1 - e.share;
    return Math.round(head);
  }

  /** When a record made at `t` reaches the cloud: at once, or when an outage ends. */
  private arrival(t: number): number {
    const day = (t - this.placedAt) / D;
    const off = this.s.events.find(
      (e) => e.type === "offline" && day >= e.fromDay && day < e.fromDay + e.days,
    );
    return off && off.type === "offline" ? this.placedAt + (off.fromDay + off.days) * D : t;
  }

  private emit(stream: string, kind: string, t: number, body: unknown) {
    this.pending.push({ stream, kind, t, body, receivedAt: this.arrival(t) });
  }

  /** One simulated hour of barn life ending at `t`. */
  hour(t: number) {
    const day = (t - this.placedAt) / D;
    const age = Math.max(0, day);
    const [lo, hi] = bandAt(this.profile.env.temperature!.bands, age);
    let temp = (lo + hi) / 2 + this.noise(1);
    for (const e of this.active("heatWave", day)) if (e.type === "heatWave") temp += e.addC;
    this.emit("env.temperature", "reading", t, { value: Math.round(temp * 10) / 10, unit: "degC" });
    this.emit("env.humidity", "reading", t, {
      value: Math.round((60 + this.noise(5)) * 10) / 10,
      unit: "%RH",
    });
    this.emit("env.ammonia", "reading", t, { value: Math.round((8 + this.noise(3)) * 10) / 10, unit: "ppm" });
    if (day >= 0) {
      let share = 1;
      for (const e of this.active("feedDiverted", day)) if (e.type === "feedDiverted") share = e.eatenShare;
      const need = (at(this.profile.feedIntakeKg, age) * this.alive(day)) / 24;
      // The farmer buys feed on his own account rather than let the herd go hungry.
      if (this.silo < need * 12) this.deliver(t, need * 24, "own", `own-${Math.round(day)}`);
      this.silo = Math.max(0, this.silo - need * share);
    }
    this.emit("silo.weight", "reading", t, {
      value: Math.round((this.silo + this.noise(2)) * 10) / 10,
      unit: "kg",
    });
    if (day >= 0 && t - this.lastCensus >= this.censusEveryMs) {
      this.lastCensus = t;
      this.emit("census", "census", t, {
        barn: this.barn,
        from: t - H,
        to: t,
        count: this.alive(day),
        method: "simulated",
      });
    }
  }

  deliver(t: number, kg: number, supplier: string, ref: string) {
    this.silo += kg;
    this.emit("feed.delivery", "delivery", t, { barn: this.barn, kg: Math.round(kg), supplier, ref });
  }

  /** Writes the records that have reached the cloud by `now`, chained per stream. */
  async flush(db: Kysely<DB>, now: number) {
    const ready = this.pending.filter((p) => p.receivedAt <= now);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((p) => p.receivedAt > now);
    const rows = ready.map((p) => {
      const st = this.seqs.get(p.stream) ?? { seq: 0, prev: genesis(this.device, p.stream) };
      st.seq++;
      const t = { wall: p.t, boot: "sim", mono: p.t - this.placedAt + 30 * D, synced: true };
      const body = canonicalJson(p.body);
      const hash = linkFromParts(st.prev, this.device, p.stream, st.seq, t, p.kind, body);
      const row = {
        device: this.device,
        stream: p.stream,
        seq: st.seq,
        kind: p.kind,
        t_wall: p.t,
        t_boot: t.boot,
        t_mono: t.mono,
        t_synced: 1,
        t_corrected: null,
        body,
        prev: st.prev.toString("hex"),
        hash: hash.toString("hex"),
        received_at: p.receivedAt,
      };
      st.prev = hash;
      this.seqs.set(p.stream, st);
      return row;
    });
    for (let i = 0; i < rows.length; i += 500)
      await db
        .insertInto("records")
        .values(rows.slice(i, i + 500))
        .execute();
    for (const [stream, st] of this.seqs) {
      const last = rows.filter((r) => r.stream === stream).at(-1);
      if (!last) continue;
      const v = {
        committed_seq: st.seq,
        max_seq: st.seq,
        count: st.seq,
        chain_ok: 1,
        last_seen: now,
        head_seq: st.seq,
        head_hash: last.hash,
      };
      await db
        .insertInto("streams")
        .values({ device: this.device, stream, chain_error: null, head_sig: null, ...v })
        .onConflict((oc) => oc.columns(["device", "stream"]).doUpdateSet(v))
        .execute();
    }
  }
}
