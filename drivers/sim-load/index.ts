import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";
import type { DriverDef, Reading, Source, SourceContext } from "../types.ts";

export const simLoadConfig = z.strictObject({
  driver: z.literal("sim-load"),
  name: ident(),
  /** Telemetry streams (`load.0` … `load.N-1`), one reading each per tick. */
  streams: z.number().int().min(1).max(1000).default(4),
  /** Real time between ticks. */
  tick: duration().default(20),
  /** One evidence event (stream `load.events`) every this many ticks; 0 = none. */
  eventEvery: z.number().int().min(0).default(10),
  /** One alarm raise/clear toggle (stream `alarms`) every this many ticks; 0 = none. */
  alarmEvery: z.number().int().min(0).default(50),
});
export type SimLoadConfig = z.output<typeof simLoadConfig>;

/**
 * A fast, deterministic load for tests of the outbox and link: N telemetry readings per tick, an
 * evidence event and an alarm toggle every few ticks. Values count up, so a test can tell from a
 * body which tick produced it. Each tick is one append (one transaction), like a real driver's poll.
 */
class SimLoad implements Source {
  readonly name: string;
  private timer?: NodeJS.Timeout;
  private n = 0;

  constructor(private readonly c: SimLoadConfig) {
    this.name = c.name;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.timer = setInterval(() => this.tick(ctx), this.c.tick);
  }

  private tick(ctx: SourceContext) {
    const i = ++this.n;
    const rs: Reading[] = Array.from({ length: this.c.streams }, (_, k) => ({
      stream: `load.${k}`,
      kind: "reading",
      body: { value: i, unit: "n" },
    }));
    if (this.c.eventEvery && i % this.c.eventEvery === 0)
      rs.push({ stream: "load.events", kind: "event", body: { input: "load", state: `tick-${i}` } });
    ctx.emit(rs);
    if (this.c.alarmEvery && i % this.c.alarmEvery === 0) {
      ctx.alarm({
        code: "load.toggle",
        severity: "info",
        subject: this.name,
        active: (i / this.c.alarmEvery) % 2 === 1,
        message: `toggle at tick ${i}`,
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}

export const simLoadDriver: DriverDef<typeof simLoadConfig> = {
  name: "sim-load",
  description: "Simulated load for tests: N telemetry streams per tick, evidence events and alarm toggles.",
  configSchema: simLoadConfig,
  create: (c) => new SimLoad(c),
};
