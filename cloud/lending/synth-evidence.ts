import { createHash } from "node:crypto";
import { canonicalJson } from "../../core/canonical.ts";
import { genesis, linkFromParts } from "../../sync/chain.ts";
import type { Db } from "../db/connect.ts";
import { TimeCorrector } from "../ingest/time-correction.ts";
import type { VerifiedSegment } from "../ingest/verify.ts";
import { at, bandAt, type SpeciesProfile, survival } from "./profile.ts";
import type { Scenario } from "./scenario-schema.ts";
import { BarnAir } from "./synth-air.ts";
import { activeEvents, clockAt, SensorFaults } from "./synth-faults.ts";

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
 * that falls as the herd eats and rises on deliveries, optional face sightings, and the faults a
 * scenario's events inject (synth-faults.ts). Records are hash-chained like the real gateway's
 * (sync/chain.ts), carry its clock (boot id, monotonic time, synced flag) and land in
 * `records`/`streams` when the uplink would deliver them; the cloud's TimeCorrector then places
 * records stamped before a clock sync, as ingest does.
 */
export class SyntheticBarn {
  private silo = 500;
  private seqs = new Map<string, { seq: number; prev: Buffer }>();
  private pending: Pending[] = [];
  private rng: () => number;
  private lastCensus = -Infinity;
  private faults: SensorFaults;
  private censuses = new Map<number, Record<string, unknown>>();
  private frames = new Map<number, Array<{ sha: string; ph: string }>>();
  private corrector?: TimeCorrector;
  private air?: BarnAir;
  private flushedAt = 0;
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
    this.faults = new SensorFaults(s, this.rng, placedAt);
    if (s.air) this.air = new BarnAir(s.air, placedAt);
  }

  private noise(a: number) {
    return (this.rng() * 2 - 1) * a;
  }

  alive(day: number): number {
    let head = this.s.head * (day < 0 ? 1 : survival(this.profile, day));
    for (const e of activeEvents(this.s, "headDrop", day)) head *= 1 - e.share;
    return Math.max(0, Math.round(head) - this.soldBy(day));
  }

  private soldBy(day: number) {
    return activeEvents(this.s, "sale", day).reduce((n, e) => n + e.head, 0);
  }

  /** When a record made at `t` reaches the cloud: at once, or when an outage ends. */
  private arrival(t: number): number {
    const day = (t - this.placedAt) / D;
    const off = activeEvents(this.s, "offline", day)[0];
    if (off) return this.placedAt + (off.fromDay + off.days) * D;
    const late = activeEvents(this.s, "lateEvidence", day)[0];
    return late ? this.placedAt + late.fromDay * D + late.hours * H : t;
  }

  private emit(stream: string, kind: string, t: number, body: unknown) {
    this.pending.push({ stream, kind, t, body, receivedAt: this.arrival(t) });
  }

  private reading(stream: string, t: number, v: number, unit: string) {
    const value = this.faults.value(stream, t, v);
    if (!this.faults.dropped(stream, t)) this.emit(stream, "reading", t, { value, unit });
  }

  /** One simulated hour of barn life ending at `t`. */
  hour(t: number) {
    const day = (t - this.placedAt) / D;
    const age = Math.max(0, day);
    const n = this.s.noise;
    const [lo, hi] = bandAt(this.profile.env.temperature!.bands, age);
    let set = (lo + hi) / 2;
    for (const e of activeEvents(this.s, "heatWave", day)) set += e.addC;
    // Without an `air` block each sensor reads its stream's mean plus noise, independently.
    const air = this.air?.at(t, set) ?? { temp: set, rh: 60, nh3: 8 };
    const r1 = (x: number) => Math.round(x * 10) / 10;
    this.reading("env.temperature", t, r1(air.temp + this.noise(n.temperature)), "degC");
    this.reading("env.humidity", t, r1(Math.min(100, air.rh + this.noise(n.humidity))), "%RH");
    this.reading("env.ammonia", t, r1(Math.max(0, air.nh3 + this.noise(n.ammonia))), "ppm");
    if (day >= 0) {
      let share = 1;
      for (const e of activeEvents(this.s, "feedDiverted", day)) share = e.eatenShare;
      const need = (at(this.profile.feedIntakeKg, age) * this.alive(day)) / 24;
      // The farmer buys feed on his own account rather than let the herd go hungry.
      if (this.silo < need * 12) this.deliver(t, need * 24, "own", `own-${Math.round(day)}`);
      this.silo = Math.max(0, this.silo - need * share);
    }
    this.reading("silo.weight", t, Math.round((this.silo + this.noise(n.siloKg)) * 10) / 10, "kg");
    for (const e of this.s.events)
      if (e.type === "sale" && t - H < this.placedAt + e.day * D && t >= this.placedAt + e.day * D)
        this.emit("herd.events", "event", t, { input: "sale", state: "sold", detail: { head: e.head } });
    if (day >= 0) this.sightings(t, day);
    if (day >= 0 && t - this.lastCensus >= this.censusEveryMs) {
      this.lastCensus = t;
      this.census(t, day);
    }
  }

  private census(t: number, day: number) {
    const replay = activeEvents(this.s, "replay", day).find((e) => e.what === "census");
    const shift = replay ? (replay.fromDay - replay.sourceDay) * D : 0;
    const src = replay ? this.censuses.get(t - shift) : undefined;
    let count = this.alive(day);
    for (const e of activeEvents(this.s, "inflatedCensus", day)) count = Math.round(count * e.factor);
    const body = src
      ? { ...src, from: Number(src.from) + shift, to: Number(src.to) + shift }
      : { barn: this.barn, from: t - H, to: t, count, method: "simulated" };
    this.censuses.set(t, body);
    this.emit("census", "census", t, body);
  }

  private sightings(t: number, day: number) {
    if (this.s.sightingsPerHour === 0) return;
    const replay = activeEvents(this.s, "replay", day).find((e) => e.what === "sightings");
    const src = replay ? this.frames.get(t - (replay.fromDay - replay.sourceDay) * D) : undefined;
    // Live frames: a new picture each (its perceptual hash unrelated to any other). A replay sends
    // the earlier frames as they were, or re-encoded: a new SHA-256, the perceptual hash 2 bits off.
    const frames =
      src?.map((f) => (replay?.nearCopy ? reencoded(f, t) : f)) ??
      Array.from({ length: this.s.sightingsPerHour }, (_, i) => {
        const sha = createHash("sha256").update(`${this.device}:${t}:${i}:${this.rng()}`).digest("hex");
        return { sha, ph: createHash("sha256").update(sha).digest("hex").slice(0, 16) };
      });
    this.frames.set(t, frames);
    frames.forEach((f, i) => {
      this.emit("camera.sightings", "sighting", t - (frames.length - i) * 60_000, {
        camera: "feeder",
        pig: `pig-${i}`,
        score: 0.9,
        frameSha256: f.sha,
        framePhash: f.ph,
      });
    });
  }

  deliver(t: number, kg: number, supplier: string, ref: string, declaredKg = kg) {
    this.silo += kg;
    this.emit("feed.delivery", "delivery", t, { barn: this.barn, kg: Math.round(declaredKg), supplier, ref });
  }

  /** The supplier's delivery for a paid tranche, as the scenario's supplier events make it. */
  supply(seq: number, t: number, kg: number, ref: string) {
    if (this.s.events.some((e) => e.type === "supplierMissing" && e.tranche === seq)) return;
    const short = this.s.events.find(
      (e) => e.type === "supplierShort" && seq >= e.fromTranche && seq <= (e.toTranche ?? Infinity),
    );
    const share = short && short.type === "supplierShort" ? short.share : 1;
    this.deliver(t, kg * share, "feedco", ref, kg);
  }

  /** Writes the records that have reached the cloud by `now`, chained per stream. */
  async flush(db: Db, now: number) {
    const ready = this.pending.filter((p) => p.receivedAt <= now);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((p) => p.receivedAt > now);
    const clocks: Array<{ t: ReturnType<typeof clockAt> }> = [];
    const rows = ready.map((p) => {
      const st = this.seqs.get(p.stream) ?? { seq: 0, prev: genesis(this.device, p.stream) };
      st.seq++;
      const t = clockAt(this.s, p.t, this.placedAt);
      clocks.push({ t });
      const body = canonicalJson(p.body);
      const hash = linkFromParts(st.prev, this.device, p.stream, st.seq, t, p.kind, body);
      const row = {
        device: this.device,
        stream: p.stream,
        seq: st.seq,
        kind: p.kind,
        t_wall: t.wall,
        t_boot: t.boot,
        t_mono: t.mono,
        t_synced: t.synced ? 1 : 0,
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
    const lastSeen = new Map<string, number>();
    ready.forEach((p, i) => {
      // As flushing every hour would have written it: the first whole hour at or after arrival.
      const seen = Math.ceil(p.receivedAt / H) * H;
      lastSeen.set(rows[i]!.stream, Math.max(lastSeen.get(rows[i]!.stream) ?? 0, Math.min(seen, now)));
    });
    // One transaction per flush: a commit (an fsync on SQLite, a round trip on PostgreSQL) per
    // statement was what made a scenario slow.
    await db.kysely.transaction().execute(async (k) => {
      for (let i = 0; i < rows.length; i += 500)
        await k
          .insertInto("records")
          .values(rows.slice(i, i + 500))
          .execute();
      const heads = [...lastSeen].map(([stream, seen]) => {
        const st = this.seqs.get(stream)!;
        const last = rows.filter((r) => r.stream === stream).at(-1)!;
        return {
          device: this.device,
          stream,
          chain_error: null,
          head_sig: null,
          committed_seq: st.seq,
          max_seq: st.seq,
          count: st.seq,
          chain_ok: 1,
          last_seen: seen,
          head_seq: st.seq,
          head_hash: last.hash,
        };
      });
      await k
        .insertInto("streams")
        .values(heads)
        .onConflict((oc) =>
          oc.columns(["device", "stream"]).doUpdateSet((eb) => ({
            committed_seq: eb.ref("excluded.committed_seq"),
            max_seq: eb.ref("excluded.max_seq"),
            count: eb.ref("excluded.count"),
            chain_ok: eb.ref("excluded.chain_ok"),
            last_seen: eb.ref("excluded.last_seen"),
            head_seq: eb.ref("excluded.head_seq"),
            head_hash: eb.ref("excluded.head_hash"),
          })),
        )
        .execute();
    });
    if (rows.some((r) => r.t_boot !== "sim")) {
      // What ingest does after commit: place records stamped before their boot's clock synced.
      this.flushedAt = now;
      this.corrector ??= new TimeCorrector(db, () => this.flushedAt);
      await this.corrector.afterCommit(this.device, [
        { type: "records", records: clocks } as unknown as VerifiedSegment,
      ]);
    }
  }
}

/** A frame re-encoded: other bytes (SHA-256), nearly the same picture (2 of 64 perceptual bits flipped). */
function reencoded(f: { sha: string; ph: string }, t: number) {
  const sha = createHash("sha256").update(`${f.sha}:reencoded:${t}`).digest("hex");
  const hi = Number.parseInt(f.ph.slice(0, 8), 16) ^ 0x00010000;
  const lo = Number.parseInt(f.ph.slice(8), 16) ^ 0x00000100;
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  return { sha, ph: hex(hi) + hex(lo) };
}
