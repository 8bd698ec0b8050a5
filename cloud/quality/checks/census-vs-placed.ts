import { citesOf } from "../cite.ts";
import { when } from "../describe.ts";
import { herdMoves } from "../herd.ts";
import type { Check } from "../types.ts";

/**
 * Census above what can be in the barn: more head than were placed, less recorded deaths and sales
 * (plus `censusSlack` for counting error). Nothing is born into a broiler or finishing batch, so
 * such a census is inflated, and must neither release feed nor re-plan the batch upward.
 */
export const censusVsPlaced: Check = {
  id: "census-vs-placed",
  title: "census above placed head",
  run(q, p) {
    const rows = q.census.filter(
      (r) => r.t >= q.from && (r.body.barn === q.batch.barn || r.body.barn === undefined),
    );
    const over = rows.filter((r) => {
      const m = herdMoves(q.herdEvents, r.t);
      return Number(r.body.count) > (q.batch.headPlaced - m.sold - m.died) * (1 + p.censusSlack);
    });
    if (over.length === 0) return [];
    const worst = over.reduce((a, b) => (Number(b.body.count) > Number(a.body.count) ? b : a));
    const m = herdMoves(q.herdEvents, worst.t);
    const possible = q.batch.headPlaced - m.sold - m.died;
    return [
      {
        check: "census-vs-placed",
        severity: "critical",
        device: worst.device,
        subject: "census",
        unusable: true,
        message: `census of barn ${q.batch.barn} at ${when(worst.t)} counts ${Number(worst.body.count).toLocaleString("en")} head but at most ${possible.toLocaleString("en")} can be there (${q.batch.headPlaced.toLocaleString("en")} placed${m.sold ? `, ${m.sold} sold` : ""}${m.died ? `, ${m.died} recorded dead` : ""}): inflated census`,
        fromT: over[0]!.t,
        toT: over.at(-1)!.t,
        figures: {
          counted: Number(worst.body.count),
          possible,
          placed: q.batch.headPlaced,
          censuses: over.length,
        },
        cites: citesOf(over),
      },
    ];
  },
};
