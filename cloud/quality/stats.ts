/** Robust statistics for sensor series: noise from differences, medians that ignore outliers. */

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Noise σ of a series from the median absolute first difference: for white noise of σ on a slow
 * signal, |x[i] − x[i−1]| has median 0.6745·√2·σ. Steps (deliveries) and trends barely move a median.
 */
export function noiseSigma(values: number[]): number {
  if (values.length < 3) return 0;
  const d: number[] = [];
  for (let i = 1; i < values.length; i++) d.push(Math.abs(values[i]! - values[i - 1]!));
  return median(d) / (0.6745 * Math.SQRT2);
}

/** Second-difference noise: immune to a constant slope, so a straight ramp reads as zero noise. */
export function curvatureSigma(values: number[]): number {
  if (values.length < 4) return 0;
  const d: number[] = [];
  for (let i = 2; i < values.length; i++) d.push(Math.abs(values[i]! - 2 * values[i - 1]! + values[i - 2]!));
  return median(d) / (0.6745 * Math.sqrt(6));
}

/** Centred rolling median of width `w` (odd), shrinking at the ends. */
export function rollingMedian(values: number[], w: number): number[] {
  const h = w >> 1;
  return values.map((_, i) => median(values.slice(Math.max(0, i - h), i + h + 1)));
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const hoursOf = (ms: number) => Math.round((ms / 3_600_000) * 10) / 10;
