import type { Scenario, ScenarioEvent } from "./scenario-schema.ts";

const H = 3_600_000;
const D = 24 * H;

type Ev<T extends ScenarioEvent["type"]> = Extract<ScenarioEvent, { type: T }>;

/** The scenario's events of one type active at `day` (a [fromDay, fromDay + length) span). */
export function activeEvents<T extends ScenarioEvent["type"]>(s: Scenario, type: T, day: number): Ev<T>[] {
  return s.events.filter((e): e is Ev<T> => {
    if (e.type !== type) return false;
    const from = "day" in e ? e.day : "fromDay" in e ? e.fromDay : -Infinity;
    const len = "days" in e && e.days !== undefined ? e.days : "hours" in e ? e.hours / 24 : Infinity;
    return day >= from && ("day" in e || day < from + len);
  });
}

/**
 * A sensor's faults applied to what it would read: stuck, noisy, replayed from an earlier day (the
 * copy is of what was sent then, so a replay is the same values in the same order, shifted).
 */
export class SensorFaults {
  private sent = new Map<string, Map<number, number>>();
  private stuckAt = new Map<string, number>();
  private genBase = new Map<string, number>();

  constructor(
    private readonly s: Scenario,
    private readonly rng: () => number,
    private readonly placedAt: number,
  ) {}

  value(stream: string, t: number, v: number): number {
    const day = (t - this.placedAt) / D;
    const replay = activeEvents(this.s, "replay", day).find(
      (e) => e.what === "readings" && (!e.stream || e.stream === stream),
    );
    let out = v;
    if (replay) {
      const src = this.sent.get(stream)?.get(t - (replay.fromDay - replay.sourceDay) * D);
      if (src !== undefined) out = src;
    } else {
      for (const e of activeEvents(this.s, "noisySensor", day))
        if (e.stream === stream) out += (this.rng() * 2 - 1) * e.amplitude;
      const gen = activeEvents(this.s, "generatedSensor", day).find((e) => e.stream === stream);
      if (gen) {
        const base = this.genBase.get(stream) ?? v;
        this.genBase.set(stream, base);
        // A slow drift keeps days from repeating exactly: this is the smooth check's case, not a replay.
        out = base + gen.amplitude * Math.sin((2 * Math.PI * t) / D) + 0.3 * (day - gen.fromDay);
      } else this.genBase.delete(stream);
      const fake = activeEvents(this.s, "fakedSensor", day).find((e) => e.stream === stream);
      if (fake) out = fake.value + (this.rng() * 2 - 1) * fake.amplitude;
      const stuck = activeEvents(this.s, "stuckSensor", day).find((e) => e.stream === stream);
      if (stuck) {
        if (!this.stuckAt.has(stream)) this.stuckAt.set(stream, stuck.value ?? this.last(stream) ?? out);
        out = this.stuckAt.get(stream)!;
      } else this.stuckAt.delete(stream);
      out = Math.round(out * 10) / 10;
    }
    const m = this.sent.get(stream) ?? new Map<number, number>();
    m.set(t, out);
    this.sent.set(stream, m);
    return out;
  }

  private last(stream: string): number | undefined {
    const m = this.sent.get(stream);
    return m ? [...m.values()].at(-1) : undefined;
  }

  dropped(stream: string, t: number): boolean {
    const day = (t - this.placedAt) / D;
    return activeEvents(this.s, "dropout", day).some((e) => !e.stream || e.stream === stream);
  }
}

/** The gateway's clock: wall time, boot id and monotonic time as the record would carry them. */
export function clockAt(s: Scenario, t: number, placedAt: number) {
  const day = (t - placedAt) / D;
  const boots = s.events.filter((e): e is Ev<"clockStale"> => e.type === "clockStale" && day >= e.fromDay);
  const b = boots.at(-1);
  if (!b) return { wall: t, boot: "sim", mono: t - placedAt + 30 * D, synced: true };
  const bootAt = placedAt + b.fromDay * D;
  const mono = t - bootAt + 60_000;
  const synced = t >= bootAt + b.hours * H;
  // fake-hwclock restores a stale time at boot: wall runs from that until the clock syncs.
  const wall = synced ? t : Date.UTC(b.year, 0, 1) + mono;
  return { wall, boot: `boot-${b.fromDay}`, mono, synced };
}
