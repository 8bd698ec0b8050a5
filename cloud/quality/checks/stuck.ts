import { citesOf, num } from "../cite.ts";
import { fmt, sensorName, unitOf } from "../describe.ts";
import { hoursOf } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

const H = 3_600_000;

/**
 * Stuck or flat-lining sensor: no change beyond the sensor's resolution for longer than its
 * `stuckHours`. A barn's air and a silo the herd eats from are never that still; a thermometer
 * reading 23.0 °C for two days through a heat wave is a broken or bypassed sensor, so the gate that
 * reads it is told its evidence is unusable. A silo before placement may rest: ignored then.
 */
export const stuck: Check = {
  id: "stuck",
  title: "stuck or flat-lining sensor",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      const stream = rows[0]?.stream;
      const spec = stream ? p.spec(stream) : undefined;
      if (!spec || !stream) continue;
      const pts = rows.filter(
        (r) => num(r) !== null && (stream !== "silo.weight" || r.t >= q.batch.placedAt),
      );
      let i = 0;
      let worst: { a: number; b: number } | undefined;
      while (i < pts.length) {
        let lo = num(pts[i]!)!;
        let hi = lo;
        let j = i;
        while (j + 1 < pts.length) {
          const v = num(pts[j + 1]!)!;
          if (Math.max(hi, v) - Math.min(lo, v) > spec.resolution + 1e-9) break;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
          j++;
        }
        const dur = pts[j]!.t - pts[i]!.t;
        if (
          dur > spec.stuckHours * H &&
          pts[j]!.t >= q.from &&
          (!worst || dur > pts[worst.b]!.t - pts[worst.a]!.t)
        )
          worst = { a: i, b: j };
        i = j + 1;
      }
      if (!worst) continue;
      const run = pts.slice(worst.a, worst.b + 1);
      const h = hoursOf(run.at(-1)!.t - run[0]!.t);
      const v = num(run[0]!)!;
      out.push({
        check: "stuck",
        severity: "critical",
        device: run[0]!.device,
        subject: stream,
        unusable: true,
        message: `${sensorName(stream)} ${stream} on ${run[0]!.device} unchanged at ${fmt(v, unitOf(run[0]!.body.unit))} for ${h} h (allowed ${spec.stuckHours} h)`,
        fromT: run[0]!.t,
        toT: run.at(-1)!.t,
        figures: { hours: h, value: v, readings: run.length, allowedHours: spec.stuckHours },
        cites: citesOf(run),
      });
    }
    return out;
  },
};
