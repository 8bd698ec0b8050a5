import type { Check, Finding } from "../types.ts";

/**
 * Clock faults: records a gateway stamped before its clock synced (no RTC, fake-hwclock into 2020)
 * are placed by boot-id + monotonic correction (cloud/ingest/time-correction.ts) once a synced record
 * of the same boot arrives. Until then they are received but not placeable: the finding is pending,
 * the gates hold for evidence not yet placeable - never "silent" - and the tranche is re-evaluated
 * when they are placed. Records already placed that way are reported for information.
 */
export const clock: Check = {
  id: "clock",
  title: "clock not synced",
  run(q) {
    const out: Finding[] = [];
    for (const dev of q.devices) {
      const un = q.unplaced.filter((u) => u.device === dev);
      const n = un.reduce((s, u) => s + u.count, 0);
      if (n > 0)
        out.push({
          check: "clock",
          severity: "warning",
          device: dev,
          subject: "clock",
          unusable: false,
          pending: true,
          message: `${dev} clock not synced since its last boot: ${n} records received but not yet placed in time (placed by boot-id + monotonic time when the clock syncs)`,
          fromT: q.from,
          toT: q.asOf,
          figures: { unplaced: n },
          cites: un.map((u) => ({
            device: dev,
            stream: u.stream,
            fromSeq: u.fromSeq,
            toSeq: u.toSeq,
            count: u.count,
            fromT: 0,
            toT: 0,
          })),
        });
      const co = q.corrected.filter((u) => u.device === dev);
      const c = co.reduce((s, u) => s + u.count, 0);
      if (c > 0)
        out.push({
          check: "clock",
          severity: "info",
          device: dev,
          subject: "clock",
          unusable: false,
          message: `${dev}: ${c} records stamped before its clock synced were placed by boot-id + monotonic correction`,
          fromT: q.from,
          toT: q.to,
          figures: { corrected: c },
          cites: co.map((u) => ({
            device: dev,
            stream: u.stream,
            fromSeq: u.fromSeq,
            toSeq: u.toSeq,
            count: u.count,
            fromT: 0,
            toT: 0,
          })),
        });
    }
    return out;
  },
};
