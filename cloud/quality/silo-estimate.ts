import { num } from "./cite.ts";
import { curvatureSigma, rollingMedian } from "./stats.ts";
import type { QRow } from "./types.ts";

const H = 3_600_000;

export interface SiloEstimate {
  /** Load-cell noise σ (kg) estimated from the raw readings. */
  sigmaKg: number;
  /** Smallest step counted as a delivery: max(minStepKg, 6σ). */
  stepKg: number;
  /** Outlier-resistant stock: a rolling median of the raw readings. */
  points: Array<{ t: number; kg: number; row: QRow }>;
  /** Delivery events: steps of the filtered stock above stepKg, grouped within 3 h. */
  rises: Array<{ t: number; kg: number }>;
  /** Feed taken out of the silo: first − last + rises, on the filtered stock. */
  fallKg: number;
}

/**
 * Noise-robust silo accounting. A load cell reading ±80 kg makes every other hourly reading look
 * like a delivery and the raw first − last + rises several times the true use; a 7-reading rolling
 * median keeps delivery steps sharp and removes that jitter, and the step threshold grows with the
 * cell's own noise so jitter is never counted as feed delivered.
 */
export function siloEstimate(rows: QRow[], minStepKg: number): SiloEstimate {
  const raw = rows.filter((r) => num(r) !== null);
  const vals = raw.map((r) => num(r)!);
  // Too few readings to tell noise from a delivery step: take them as they are.
  const sigmaKg = vals.length >= 8 ? curvatureSigma(vals) : 0;
  const filtered = sigmaKg > 3 ? rollingMedian(vals, 7) : vals;
  const points = raw.map((row, i) => ({ t: row.t, kg: filtered[i]!, row }));
  const stepKg = Math.max(minStepKg, 6 * sigmaKg);
  const rises: Array<{ t: number; kg: number }> = [];
  for (let i = 1; i < points.length; i++) {
    const d = points[i]!.kg - points[i - 1]!.kg;
    // A delivery spread over a few readings by the filter is one event: small steps join a recent rise.
    const ev = rises[rises.length - 1];
    if (ev && points[i]!.t - ev.t <= 3 * H && d > minStepKg) {
      ev.kg += d;
      ev.t = points[i]!.t;
    } else if (d > stepKg) rises.push({ t: points[i]!.t, kg: d });
  }
  const fallKg =
    points.length >= 2 ? points[0]!.kg - points.at(-1)!.kg + rises.reduce((s, e) => s + e.kg, 0) : 0;
  return { sigmaKg, stepKg, points, rises, fallKg };
}
