import { citesOf, num } from "../cite.ts";
import { sensorName, unitOf } from "../describe.ts";
import { curvatureSigma, round1 } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

/**
 * Noisy sensor: the window's noise σ (from second differences, so trends and slopes do not count)
 * above the stream's `noiseMax`. The gates then read outlier-resistant estimates (silo-estimate.ts)
 * instead of raw values, and the finding says it is the sensor - not the farmer - at fault.
 */
export const noisy: Check = {
  id: "noisy",
  title: "noisy sensor",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      const w = rows.filter((r) => r.t >= q.from && num(r) !== null);
      const stream = w[0]?.stream;
      const spec = stream ? p.spec(stream) : undefined;
      if (!spec || !stream || w.length < 12) continue;
      const sigma = curvatureSigma(w.map((r) => num(r)!));
      if (sigma <= spec.noiseMax) continue;
      const unit = unitOf(w[0]!.body.unit);
      out.push({
        check: "noisy",
        severity: "warning",
        device: w[0]!.device,
        subject: stream,
        unusable: false,
        message: `${sensorName(stream)} ${stream} on ${w[0]!.device} noisy: ±${round1(sigma)} ${unit} (expected ≤ ${spec.noiseMax} ${unit}); gates use filtered estimates`,
        fromT: w[0]!.t,
        toT: w.at(-1)!.t,
        figures: { sigma: round1(sigma), noiseMax: spec.noiseMax, readings: w.length },
        cites: citesOf(w),
      });
    }
    return out;
  },
};
