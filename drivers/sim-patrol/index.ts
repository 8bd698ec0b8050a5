import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";
import { noise } from "../sim-barn/model.ts";
import type { DriverDef, Reading, Source, SourceContext } from "../types.ts";

const checkpoint = z.strictObject({
  id: ident(),
  /** Normal air temperature here (°C); a rack's hot aisle differs from the cold aisle. */
  temperature: z.number().default(24),
  /** A device code read at this checkpoint (a meter, a breaker); its indicator is checked. */
  device: z.string().max(64).optional(),
});

export const simPatrolConfig = z.strictObject({
  driver: z.literal("sim-patrol"),
  name: ident(),
  /** The route, in order; the robot docks after the last checkpoint. */
  route: z.array(checkpoint).min(1),
  /** Clock time between checkpoints. */
  interval: duration().default(60_000),
  /** How long the robot stays docked (charging, uploading) between rounds. */
  dockTime: duration().default(300_000),
  /** Name of the dock contact input in the event records. */
  dockInput: z.string().default("dock"),
  /** Checkpoint ids where the simulation plants a fault (overheating, a fault indicator). */
  faults: z.array(ident()).default([]),
  tick: duration().default(1000),
  seed: z.number().int().default(7),
});
type Config = z.output<typeof simPatrolConfig>;

/**
 * A simulated data-centre patrol robot (no hardware): walks its route checking environment and
 * equipment at each checkpoint (checkpoint records, alarms on findings), then docks (dock contact
 * events). Out of Wi-Fi the records wait in the outbox; at the dock they upload.
 */
class SimPatrol implements Source {
  readonly name: string;
  private timer?: NodeJS.Timeout;
  private next = 0;
  private at = 0;
  private docked = true;
  private round = 0;
  constructor(private readonly c: Config) {
    this.name = c.name;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.next = ctx.clock.now().wall;
    this.timer = setInterval(() => this.step(ctx), this.c.tick);
  }

  private step(ctx: SourceContext) {
    const now = ctx.clock.now();
    const out: Reading[] = [];
    while (this.next <= now.wall && out.length < 1000) {
      const t = { ...now, wall: this.next };
      if (this.docked) {
        this.docked = false;
        out.push({
          stream: `${this.c.dockInput}`,
          kind: "event",
          t,
          body: { input: this.c.dockInput, state: false },
        });
        this.next += this.c.interval;
        continue;
      }
      const cp = this.c.route[this.at]!;
      const fault = this.c.faults.includes(cp.id);
      const temperature =
        Math.round((cp.temperature + (fault ? 14 : 0) + noise(this.c.seed, this.round * 97 + this.at)) * 10) /
        10;
      const humidity = Math.round((45 + 5 * noise(this.c.seed + 1, this.round * 97 + this.at)) * 10) / 10;
      const findings = [
        ...(temperature > cp.temperature + 8
          ? [`temperature ${temperature} °C, ${Math.round(temperature - cp.temperature)} °C above normal`]
          : []),
        ...(fault && cp.device ? [`${cp.device}: fault indicator lit`] : []),
      ];
      const values: Record<string, number | string | boolean> = {
        temperature,
        humidity,
        smoke: false,
        waterLeak: false,
        noiseDb: 62,
      };
      if (cp.device) {
        values.device = cp.device;
        values.indicator = fault ? "red" : "green";
      }
      out.push({
        stream: "patrol.checkpoints",
        kind: "checkpoint",
        t,
        body: {
          checkpoint: cp.id,
          ok: findings.length === 0,
          values,
          ...(findings.length ? { findings } : {}),
        },
      });
      if (findings.length) {
        ctx.alarm({
          code: "patrol.finding",
          severity: "critical",
          subject: cp.id,
          active: true,
          message: findings.join("; "),
          detail: { round: this.round },
        });
      }
      this.at++;
      if (this.at >= this.c.route.length) {
        this.at = 0;
        this.round++;
        this.docked = true;
        out.push({
          stream: `${this.c.dockInput}`,
          kind: "event",
          t,
          body: { input: this.c.dockInput, state: true },
        });
        this.next += this.c.dockTime;
      } else this.next += this.c.interval;
    }
    if (out.length) ctx.emit(out);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}

export const simPatrolDriver: DriverDef<typeof simPatrolConfig> = {
  name: "sim-patrol",
  description:
    "Simulated data-centre patrol robot: checkpoint environment and equipment checks, dock contact (no hardware)",
  configSchema: simPatrolConfig,
  create: (c) => new SimPatrol(c),
};
