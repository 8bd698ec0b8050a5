import { citesOf, num } from "../cite.ts";
import { sensorName, when } from "../describe.ts";
import { hoursOf } from "../stats.ts";
import type { Check, Finding, QRow } from "../types.ts";

/**
 * Replayed readings: a run of `replayReadings` values inside the window that repeats an earlier run
 * exactly (same values, same order, shifted in time). Real air at 0.1 °C resolution does not repeat
 * a dozen readings; a gateway re-sending last week's file does. Runs with fewer than three distinct
 * values are left to the stuck check.
 */
export const replayReadings: Check = {
  id: "replay-readings",
  title: "replayed readings",
  run(q, p) {
    const out: Finding[] = [];
    const L = p.replayReadings;
    for (const rows of q.readings.values()) {
      const pts = rows.filter((r) => num(r) !== null);
      const stream = pts[0]?.stream;
      if (!stream || pts.length < 2 * L) continue;
      const seen = new Map<string, number>();
      const copies: Array<{ at: number; src: number }> = [];
      for (let i = 0; i + L <= pts.length; i++) {
        const vals = pts.slice(i, i + L).map((r) => num(r)!);
        if (new Set(vals).size < 3) continue;
        const key = vals.join(",");
        const j = seen.get(key);
        // The earlier run must end before this one starts: overlapping runs are not a copy.
        if (j !== undefined && j + L <= i && pts[i]!.t >= q.from) copies.push({ at: i, src: j });
        else if (j === undefined) seen.set(key, i);
      }
      if (copies.length === 0) continue;
      const copyRows = new Map<number, QRow>();
      const srcRows = new Map<number, QRow>();
      for (const c of copies)
        for (let k = 0; k < L; k++) {
          copyRows.set(c.at + k, pts[c.at + k]!);
          srcRows.set(c.src + k, pts[c.src + k]!);
        }
      const copy = [...copyRows.values()];
      const src = [...srcRows.values()];
      const shift = copy[0]!.t - src[0]!.t;
      out.push({
        check: "replay-readings",
        severity: "critical",
        device: copy[0]!.device,
        subject: stream,
        unusable: true,
        message: `${sensorName(stream)} ${stream} on ${copy[0]!.device}: ${copy.length} readings from ${when(copy[0]!.t)} repeat those from ${when(src[0]!.t)} (same values, same order, ${hoursOf(shift)} h later): replayed data`,
        fromT: copy[0]!.t,
        toT: copy.at(-1)!.t,
        figures: { replayed: copy.length, shiftHours: hoursOf(shift), sourceFrom: src[0]!.t },
        cites: [...citesOf(copy), ...citesOf(src)],
      });
    }
    return out;
  },
};
