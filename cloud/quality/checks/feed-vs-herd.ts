import { citesOf } from "../cite.ts";
import { siloEstimate } from "../silo-estimate.ts";
import { round1 } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

const H = 3_600_000;

/**
 * Feed fall against head count × the expected intake for the animals' age: the cross-sensor check
 * behind gate (d), shown to the lender as a finding with its figures. The head is the latest census
 * that is not above placed head, else the placed head.
 */
export const feedVsHerd: Check = {
  id: "feed-vs-herd",
  title: "feed fall vs head × intake",
  run(q, p) {
    const out: Finding[] = [];
    const census = q.census.filter((r) => r.t <= q.to && Number(r.body.count) <= q.batch.headPlaced).at(-1);
    const head = census ? Number(census.body.count) : q.batch.headPlaced;
    for (const rows of q.readings.values()) {
      if (rows[0]?.stream !== "silo.weight") continue;
      const w = rows.filter((r) => r.t >= Math.max(q.from, q.batch.placedAt));
      if (w.length < 12) continue;
      const est = siloEstimate(w, p.siloStepKg);
      let expected = 0;
      for (let t = w[0]!.t; t < w.at(-1)!.t; t += H)
        expected += (q.intakeKgAt((t + H / 2 - q.batch.placedAt) / 86_400_000) * head) / 24;
      if (expected < Math.max(100, head * 0.05)) continue;
      const ratio = est.fallKg / expected;
      if (ratio >= p.feedLow && ratio <= p.feedHigh) continue;
      out.push({
        check: "feed-vs-herd",
        severity: "warning",
        device: w[0]!.device,
        subject: "feed",
        unusable: false,
        message: `silo fell ${round1(est.fallKg)} kg where ${head.toLocaleString("en")} head should eat ${round1(expected)} kg (${Math.round(ratio * 100)}%)`,
        fromT: w[0]!.t,
        toT: w.at(-1)!.t,
        figures: {
          fallKg: round1(est.fallKg),
          expectedKg: round1(expected),
          ratio: Math.round(ratio * 1000) / 1000,
          head,
        },
        cites: citesOf(census ? [...w, census] : w),
      });
    }
    return out;
  },
};
