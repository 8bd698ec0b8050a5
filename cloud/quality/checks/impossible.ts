import { citesOf, num } from "../cite.ts";
import { fmt, sensorName, unitOf } from "../describe.ts";
import type { Check, Finding, QRow } from "../types.ts";

const H = 3_600_000;

/**
 * Physically impossible values (outside the sensor's range) and rates of change (faster than air
 * or a silo can change between two readings up to 3 h apart). A few are spikes (warning); more than
 * 5% of the window makes the stream unusable for the gates.
 */
export const impossible: Check = {
  id: "impossible",
  title: "physically impossible values or rates",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      const w = rows.filter((r) => r.t >= q.from && num(r) !== null);
      const stream = w[0]?.stream;
      const spec = stream ? p.spec(stream) : undefined;
      if (!spec || !stream || w.length === 0) continue;
      const bad: QRow[] = [];
      let fastest = 0;
      for (let i = 0; i < w.length; i++) {
        const v = num(w[i]!)!;
        if (v < spec.min || v > spec.max) {
          bad.push(w[i]!);
          continue;
        }
        const prev = w[i - 1];
        if (!prev || w[i]!.t - prev.t > 3 * H || w[i]!.t === prev.t) continue;
        const rate = (v - num(prev)!) / ((w[i]!.t - prev.t) / H);
        const limit = rate < 0 && spec.maxFallPerHour ? spec.maxFallPerHour : spec.maxRatePerHour;
        if (limit && Math.abs(rate) > limit) {
          bad.push(w[i]!);
          fastest = Math.max(fastest, Math.abs(rate));
        }
      }
      if (bad.length === 0) continue;
      const unit = unitOf(w[0]!.body.unit);
      const share = bad.length / w.length;
      out.push({
        check: "impossible",
        severity: share > 0.05 ? "critical" : "warning",
        device: w[0]!.device,
        subject: stream,
        unusable: share > 0.05,
        message: `${sensorName(stream)} ${stream} on ${w[0]!.device}: ${bad.length} of ${w.length} readings impossible (range ${spec.min}–${spec.max} ${unit}${spec.maxRatePerHour ? `, at most ${spec.maxRatePerHour} ${unit}/h` : ""}${fastest ? `; fastest ${fmt(fastest, unit)}/h` : ""})`,
        fromT: bad[0]!.t,
        toT: bad.at(-1)!.t,
        figures: { impossible: bad.length, readings: w.length, share: Math.round(share * 1000) / 1000 },
        cites: citesOf(bad),
      });
    }
    return out;
  },
};
