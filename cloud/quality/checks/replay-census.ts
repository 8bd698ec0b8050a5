import { citesOf } from "../cite.ts";
import { when } from "../describe.ts";
import { hoursOf } from "../stats.ts";
import type { Check, QRow } from "../types.ts";

const bodyKey = (r: QRow) =>
  JSON.stringify([r.body.count, r.body.pigs ?? null, r.body.unseen ?? null, r.body.unknown ?? null]);

/**
 * Replayed census: `replayCensuses` consecutive censuses inside the window whose bodies (count, pig
 * ids) repeat an earlier run in the same order, shifted in time. Runs must hold all-different counts:
 * a small pen counted 12, 12, 11 twice is ordinary, a 20,000-bird house counted 19,760, 19,747,
 * 19,733 twice is a copy. docs/evidence-quality.md says what this cannot see.
 */
export const replayCensus: Check = {
  id: "replay-census",
  title: "replayed census",
  run(q, p) {
    const K = p.replayCensuses;
    const rows = q.census.filter((r) => r.body.barn === q.batch.barn || r.body.barn === undefined);
    const seen = new Map<string, number>();
    const copy = new Map<number, QRow>();
    const src = new Map<number, QRow>();
    for (let i = 0; i + K <= rows.length; i++) {
      const run = rows.slice(i, i + K);
      if (new Set(run.map((r) => r.body.count)).size < K) continue;
      const key = run.map(bodyKey).join("|");
      const j = seen.get(key);
      if (j === undefined) seen.set(key, i);
      else if (j + K <= i && rows[i]!.t >= q.from)
        for (let k = 0; k < K; k++) {
          copy.set(i + k, rows[i + k]!);
          src.set(j + k, rows[j + k]!);
        }
    }
    if (copy.size === 0) return [];
    const c = [...copy.values()];
    const s = [...src.values()];
    return [
      {
        check: "replay-census",
        severity: "critical",
        device: c[0]!.device,
        subject: "census",
        unusable: true,
        message: `census of barn ${q.batch.barn}: ${c.length} censuses from ${when(c[0]!.t)} repeat those of ${when(s[0]!.t)} (same counts, same order, ${hoursOf(c[0]!.t - s[0]!.t)} h later): replayed census`,
        fromT: c[0]!.t,
        toT: c.at(-1)!.t,
        figures: { replayed: c.length, shiftHours: hoursOf(c[0]!.t - s[0]!.t) },
        cites: [...citesOf(c), ...citesOf(s)],
      },
    ];
  },
};
