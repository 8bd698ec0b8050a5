import { citesOf, num } from "../cite.ts";
import { sensorName } from "../describe.ts";
import { curvatureSigma } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

/**
 * Implausibly smooth series: a two-day stretch that moves (range ≥ 20 × resolution) but whose second
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
      // Judged on two-day stretches, so a generated stretch is not diluted by real days around it.
      const N = Math.min(48, w.length);
      let hit: { a: number; sigma: number } | undefined;
      for (let a = 0; a + N <= w.length; a += 12) {
        const v = w.slice(a, a + N).map((r) => num(r)!);
        if (Math.max(...v) - Math.min(...v) < 20 * spec.resolution) continue;
        const sigma = curvatureSigma(v);
        if (sigma < spec.smoothMin && (!hit || sigma < hit.sigma)) hit = { a, sigma };
      }
      if (!hit) continue;
      const run = w.slice(hit.a, hit.a + N);
      const sigma = hit.sigma;
      out.push({
        check: "smooth",
        severity: "critical",
        device: w[0]!.device,
        subject: stream,
        unusable: true,
        message: `${sensorName(stream)} ${stream} on ${w[0]!.device} implausibly smooth: ${run.length} readings with no sensor jitter (noise ${Math.round(sigma * 1000) / 1000}, a real sensor shows ≥ ${spec.smoothMin})`,
        fromT: run[0]!.t,
        toT: run.at(-1)!.t,
        figures: { sigma: Math.round(sigma * 1000) / 1000, smoothMin: spec.smoothMin, readings: run.length },
        cites: citesOf(run),
      });
    }
    return out;
  },
};
