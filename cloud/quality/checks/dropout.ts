import { citesOf } from "../cite.ts";
import { sensorName, when } from "../describe.ts";
import { hoursOf, median } from "../stats.ts";
import type { Check, Finding } from "../types.ts";

const H = 3_600_000;

/**
 * Dropouts: gaps in one stream longer than `dropoutFactor` × its usual interval (and at least
 * `dropoutMinHours`). Information for the lender: a few dropouts are normal and gate (a) alone
 * decides whether the silence is too long to lend on.
 */
export const dropout: Check = {
  id: "dropout",
  title: "dropouts",
  run(q, p) {
    const out: Finding[] = [];
    for (const rows of q.readings.values()) {
      const stream = rows[0]?.stream;
      if (!stream || rows.length < 4) continue;
      const usual = median(rows.slice(1).map((r, i) => r.t - rows[i]!.t));
      const limit = Math.max(p.dropoutFactor * usual, p.dropoutMinHours * H);
      const gaps: Array<[number, number]> = [];
      for (let i = 1; i < rows.length; i++)
        if (rows[i]!.t >= q.from && rows[i]!.t - rows[i - 1]!.t > limit) gaps.push([i - 1, i]);
      if (gaps.length === 0) continue;
      const longest = Math.max(...gaps.map(([a, b]) => rows[b]!.t - rows[a]!.t));
      const edges = gaps.flatMap(([a, b]) => [rows[a]!, rows[b]!]);
      out.push({
        check: "dropout",
        severity: "info",
        device: rows[0]!.device,
        subject: stream,
        unusable: false,
        message: `${sensorName(stream)} ${stream} on ${rows[0]!.device}: ${gaps.length} dropout${gaps.length === 1 ? "" : "s"}, longest ${hoursOf(longest)} h (first after ${when(rows[gaps[0]![0]]!.t)})`,
        fromT: edges[0]!.t,
        toT: edges.at(-1)!.t,
        figures: {
          dropouts: gaps.length,
          longestHours: hoursOf(longest),
          usualMinutes: Math.round(usual / 60_000),
        },
        cites: citesOf(edges),
      });
    }
    return out;
  },
};
