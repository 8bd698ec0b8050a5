import { z } from "zod";
import { parseDuration } from "../../core/config.ts";
import { duration, ident } from "../../core/zod-helpers.ts";
import type { DriverDef, Reading, Source, SourceContext } from "../types.ts";
import { type BarnParams, divertedKgPerDay, stateAt } from "./model.ts";

export const simBarnConfig = z.strictObject({
  driver: z.literal("sim-barn"),
  name: ident(),
  /** Barn id used in census and delivery records. */
  barn: ident().default("barn-a"),
  headPlaced: z.number().int().min(1).max(100_000).default(500),
  /** First reading time (ISO 8601): readings are back-filled from it on start; default: now. */
  startAt: z.iso.datetime({ offset: true }).optional(),
  /** Placement time (ISO 8601); default: when the source starts. */
  placedAt: z.iso.datetime({ offset: true }).optional(),
  siloCapacityKg: z.number().positive().default(12_000),
  refillBelow: z.number().min(0).max(1).default(0.25),
  /**
   * Scheduled deliveries, as a feed supplier paid in tranches would make them: every `every` of
   * clock time (from placement, shifted by `phase` × every) the herd's intake for the next period.
   */
  deliveries: z.strictObject({ every: duration(), phase: z.number().min(0).max(1).default(0.25) }).optional(),
  /** Simulated time between readings (clock time: in the demo the clock runs fast). */
  interval: duration().default(300_000),
  /** Whether this barn reports a census (off where cameras count the herd instead). */
  census: z.boolean().default(true),
  /** Simulated time between census records. */
  censusInterval: duration().default(86_400_000),
  /** How often the source wakes up, in real time. */
  tick: duration().default(1000),
  seed: z.number().int().default(1),
  anomalies: z
    .array(
      z.strictObject({
        kind: z.enum(["heat-wave", "head-drop", "feed-diversion"]),
        fromDay: z.number().min(0),
        toDay: z.number().min(0).default(1e9),
        size: z.number(),
      }),
    )
    .default([]),
});
export type SimBarnConfig = z.output<typeof simBarnConfig>;

/**
 * A simulated barn: temperature, humidity, ammonia, silo weight (falls as the herd eats, rises on
 * delivery with a delivery record), water meter, and a daily census. It emits every `interval` of
 * clock time, catching up after a pause, so the demo's fast clock yields a barn-day in seconds.
 */
class SimBarn implements Source {
  readonly name: string;
  private timer?: NodeJS.Timeout;
  private p!: BarnParams;
  private lastT = 0;
  private lastCensus = 0;
  private silo = 0;
  private water = 0;
  private deliveries = 0;
  private lastScheduled = -1;
  private censusInterval: number;

  constructor(private readonly c: SimBarnConfig) {
    this.name = c.name;
    this.censusInterval = c.censusInterval;
  }

  async start(ctx: SourceContext): Promise<void> {
    const now = ctx.clock.now().wall;
    this.p = {
      barn: this.c.barn,
      headPlaced: this.c.headPlaced,
      placedAt: this.c.placedAt ? Date.parse(this.c.placedAt) : now,
      siloCapacityKg: this.c.siloCapacityKg,
      refillBelow: this.c.refillBelow,
      seed: this.c.seed,
      anomalies: this.c.anomalies,
    };
    this.silo = this.c.siloCapacityKg * 0.9;
    this.lastT = this.c.startAt ? Math.min(now, Date.parse(this.c.startAt)) : now;
    this.lastCensus = this.lastT - this.c.censusInterval;
    this.emitDue(ctx);
    this.timer = setInterval(() => this.emitDue(ctx), this.c.tick);
  }

  private emitDue(ctx: SourceContext) {
    const clk = ctx.clock.now();
    const out: Reading[] = [];
    let steps = 0;
    while (this.lastT + this.c.interval <= clk.wall && steps < 10_000) {
      this.lastT += this.c.interval;
      steps++;
      // Simulated capture time; monotonic time is the real one of this emit.
      const t = { ...clk, wall: this.lastT };
      const s = stateAt(this.p, this.lastT);
      const hours = this.c.interval / 3_600_000;
      const eaten = (s.intakeKgPerDay * hours) / 24 + (divertedKgPerDay(this.p, s.day) * hours) / 24;
      this.silo = Math.max(0, this.silo - eaten);
      this.water += (s.intakeKgPerDay * 2.5 * hours) / 24;
      const sched = this.c.deliveries;
      let kg = 0;
      if (sched && this.lastT >= this.p.placedAt) {
        const k = Math.floor((this.lastT - this.p.placedAt - sched.phase * sched.every) / sched.every);
        if (k >= 0 && k > this.lastScheduled) {
          this.lastScheduled = k;
          kg = Math.round((s.intakeKgPerDay * sched.every) / 86_400_000);
        }
      }
      if (kg === 0 && this.silo < this.c.siloCapacityKg * this.c.refillBelow) {
        kg = Math.round(this.c.siloCapacityKg * 0.9 - this.silo);
      }
      if (kg > 0) {
        this.silo = Math.min(this.c.siloCapacityKg, this.silo + kg);
        this.deliveries++;
        out.push({
          stream: "feed.delivery",
          kind: "delivery",
          t,
          body: { barn: this.c.barn, kg, ref: `sim-${this.deliveries}` },
        });
      }
      const r = (stream: string, value: number, unit: string): Reading => ({
        stream,
        kind: "reading",
        t,
        body: { value: Math.round(value * 100) / 100, unit },
      });
      out.push(
        r("env.temperature", s.temperature, "degC"),
        r("env.humidity", s.humidity, "%RH"),
        r("env.ammonia", s.ammonia, "ppm"),
        r("silo.weight", this.silo, "kg"),
        r("water.total", this.water, "L"),
      );
      if (this.c.census && this.lastT - this.lastCensus >= this.censusInterval) {
        this.lastCensus = this.lastT;
        out.push({
          stream: "census",
          kind: "census",
          t,
          body: {
            barn: this.c.barn,
            from: this.lastT - this.censusInterval,
            to: this.lastT,
            count: s.head,
            method: "simulated",
          },
        });
      }
    }
    if (out.length) ctx.emit(out);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  /** `census.interval` {every}: the lender wants head counts more often (risk went up). */
  command(name: string, args: Record<string, unknown>): boolean {
    if (!this.c.census || name !== "census.interval" || typeof args.every !== "string") return false;
    try {
      this.censusInterval = parseDuration(args.every);
      return true;
    } catch {
      return false;
    }
  }

  async probe() {
    const s = stateAt({ ...this.pStub(), placedAt: Date.now() }, Date.now());
    return [
      {
        subject: this.c.name,
        ok: true,
        values: { temperature: s.temperature, humidity: s.humidity, ammonia: s.ammonia, head: s.head },
      },
    ];
  }

  private pStub(): BarnParams {
    return {
      barn: this.c.barn,
      headPlaced: this.c.headPlaced,
      placedAt: 0,
      siloCapacityKg: this.c.siloCapacityKg,
      refillBelow: this.c.refillBelow,
      seed: this.c.seed,
      anomalies: this.c.anomalies,
    };
  }
}

export const simBarnDriver: DriverDef<typeof simBarnConfig> = {
  name: "sim-barn",
  description:
    "Simulated pig barn: environment, silo, water meter, deliveries and a daily census (demo and tests)",
  configSchema: simBarnConfig,
  create: (c) => new SimBarn(c),
};
