import { systemClock } from "../../core/clock.ts";
import { silentLogger } from "../../core/log.ts";
import type { AlarmInput, Reading, SourceContext } from "../../drivers/types.ts";
import { kinds } from "../../sync/kinds.ts";
import { waitFor } from "./wait-for.ts";

/**
 * A SourceContext that records what a source does, for tests and the probe command. Every emitted
 * body is validated against sync/kinds.ts, so a driver cannot emit what the outbox would reject.
 */
export class RecordingContext implements SourceContext {
  readonly clock = systemClock("always");
  readonly log = silentLogger;
  readonly readings: Reading[] = [];
  readonly alarms: AlarmInput[] = [];
  readonly counts = new Map<string, number>();
  private readonly ac = new AbortController();
  readonly signal = this.ac.signal;

  emit(readings: Reading[]): void {
    for (const r of readings) {
      const kind = kinds[r.kind as keyof typeof kinds];
      if (!kind) throw new Error(`unknown record kind ${r.kind}`);
      kind.schema.parse(r.body);
      this.readings.push(r);
    }
  }

  alarm(a: AlarmInput): void {
    kinds.alarm.schema.parse(a);
    this.alarms.push(a);
  }

  count(metric: string, labels: Record<string, string>, by = 1): void {
    const key = `${metric}${JSON.stringify(labels)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  /** Sum of a metric over every label set that includes `match`. */
  total(metric: string, match: Record<string, string> = {}): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      if (!k.startsWith(`${metric}{`)) continue;
      const labels = JSON.parse(k.slice(metric.length)) as Record<string, string>;
      if (Object.entries(match).every(([mk, mv]) => labels[mk] === mv)) n += v;
    }
    return n;
  }

  /**
   * Every value of one sensor, as `reading`s: its own reading records and its value in each `block`
   * (a Modbus register block is one record named after its device; its values are named by sensor).
   */
  values(stream: string): Reading[] {
    return this.readings.flatMap((r): Reading[] => {
      if (r.kind === "block") {
        const b = r.body as { values: Record<string, number>; units?: Record<string, string> };
        if (!Object.hasOwn(b.values, stream)) return [];
        return [
          {
            stream,
            kind: "reading",
            t: r.t,
            body: { value: b.values[stream], unit: b.units?.[stream] ?? "" },
          },
        ];
      }
      return r.stream === stream ? [r] : [];
    });
  }

  /** The latest record of a stream, or the latest value of that name in a block, as a reading. */
  latest(stream: string): Reading | undefined {
    return this.values(stream).at(-1);
  }

  /** The value of the latest reading on a stream, if any. */
  value(stream: string): number | undefined {
    return (this.latest(stream)?.body as { value?: number } | undefined)?.value;
  }

  abort(): void {
    this.ac.abort();
  }

  /** Waits until `cond` is true (waitFor's generous deadline); the failure names `what` and what was recorded. */
  async until(cond: () => boolean, what: string): Promise<void> {
    await waitFor(cond, what).catch((e: Error) => {
      const counts = [...this.counts].map(([k, v]) => `${k}=${v}`).join(", ");
      throw new Error(`${e.message} (${this.readings.length} readings; ${counts})`);
    });
  }
}
