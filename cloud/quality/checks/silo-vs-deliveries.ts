import { citesOf } from "../cite.ts";
import { when } from "../describe.ts";
import { siloEstimate } from "../silo-estimate.ts";
import { round1 } from "../stats.ts";
import type { Check, Finding, QRow } from "../types.ts";

const H = 3_600_000;

/**
 * Silo rises against declared deliveries (`delivery` records: the driver's note or the supplier's
 * delivery id): a declared delivery the silo does not show (or shows much smaller), and a rise
 * nobody declared. A warning each: which side is wrong is for gate (e) and the officer to say.
 */
export const siloVsDeliveries: Check = {
  id: "silo-vs-deliveries",
  title: "silo rises vs declared deliveries",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      if (rows[0]?.stream !== "silo.weight") continue;
      const dev = rows[0].device;
      const est = siloEstimate(rows, p.siloStepKg);
      const win = p.deliveryMatchHours * H;
      const decl = q.deliveries.filter((d) => d.device === dev && d.t >= q.from);
      const used = new Set<number>();
      const mismatched: Array<{ d: QRow; rise: number }> = [];
      for (const d of decl) {
        const kg = Number(d.body.kg);
        const i = est.rises.findIndex((e, k) => !used.has(k) && Math.abs(e.t - d.t) <= win);
        const rise = i >= 0 ? est.rises[i]!.kg : 0;
        if (i >= 0) used.add(i);
        if (Math.abs(rise - kg) > Math.max(0.1 * kg, 2 * est.sigmaKg + est.stepKg))
          mismatched.push({ d, rise });
      }
      const undeclared = est.rises.filter(
        (e, k) => !used.has(k) && e.t >= q.from && !q.deliveries.some((d) => Math.abs(d.t - e.t) <= win),
      );
      if (mismatched.length) {
        const m = mismatched[0]!;
        out.push({
          check: "silo-vs-deliveries",
          severity: "warning",
          device: dev,
          subject: "feed.delivery",
          unusable: false,
          message: `${mismatched.length} declared deliver${mismatched.length === 1 ? "y" : "ies"} not matched by the silo: ${Number(m.d.body.kg)} kg declared by ${String(m.d.body.supplier ?? "?")} at ${when(m.d.t)}, silo rose ${round1(m.rise)} kg`,
          fromT: mismatched[0]!.d.t,
          toT: mismatched.at(-1)!.d.t,
          figures: { mismatched: mismatched.length, declaredKg: Number(m.d.body.kg), riseKg: round1(m.rise) },
          cites: citesOf(mismatched.map((x) => x.d)),
        });
      }
      if (undeclared.length) {
        const near = rows.filter((r) => undeclared.some((e) => Math.abs(r.t - e.t) <= 3 * H));
        out.push({
          check: "silo-vs-deliveries",
          severity: "warning",
          device: dev,
          subject: "silo.weight",
          unusable: false,
          message: `silo rose ${undeclared.length} time${undeclared.length === 1 ? "" : "s"} with no delivery declared (first ${round1(undeclared[0]!.kg)} kg at ${when(undeclared[0]!.t)})`,
          fromT: undeclared[0]!.t,
          toT: undeclared.at(-1)!.t,
          figures: { undeclared: undeclared.length, firstKg: round1(undeclared[0]!.kg) },
          cites: citesOf(near),
        });
      }
    }
    return out;
  },
};
