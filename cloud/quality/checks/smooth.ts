import { citesOf, num } from "../cite.ts";
import { sensorName } from "../describe.ts";
import { curvatureSigma } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

/**
 * Implausibly smooth series: a stream that moves (range ≥ 20 × resolution) but whose second
 * differences are almost all zero - a ramp or a generated curve, not air measured by a real sensor,
 * which always jitters by at least its resolution. Needs a day of readings to judge.
 */
export const smooth: Check = {
  id: "smooth",
  title: "implausibly smooth series",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      const w = rows.filter((r) => r.t >= q.from && num(r) !== null);
      const stream = w[0]?.stream;
      const spec = stream ? p.spec(stream) : undefined;
      if (!spec || !stream || spec.smoothMin === 0 || w.length < 24) continue;
      const v = w.map((r) => num(r)!);
      const range = Math.max(...v) - Math.min(...v);
      if (range < 20 * spec.resolution) continue;
      const sigma = curvatureSigma(v);
      if (sigma >= spec.smoothMin) continue;
      out.push({
        check: "smooth",
        severity: "critical",
        device: w[0]!.device,
        subject: stream,
        unusable: true,
        message: `${sensorName(stream)} ${stream} on ${w[0]!.device} implausibly smooth: ${w.length} readings with no sensor jitter (noise ${Math.round(sigma * 1000) / 1000}, a real sensor shows ≥ ${spec.smoothMin})`,
        fromT: w[0]!.t,
        toT: w.at(-1)!.t,
        figures: { sigma: Math.round(sigma * 1000) / 1000, smoothMin: spec.smoothMin, readings: w.length },
        cites: citesOf(w),
      });
    }
    return out;
  },
};
