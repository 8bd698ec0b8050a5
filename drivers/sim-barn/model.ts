/**
 * A simulated pig barn (finishing pigs) as a deterministic function of time, for the demo and tests.
 * Figures are plausible rather than exact: feed intake rises from ~1.3 to ~2.9 kg/pig/day over a
 * 110-day finishing period, water ~2.5 L per kg of feed, mortality ~0.02 %/day. Anomalies let the
 * demo and tests show what the loan gates catch.
 */
export interface Anomaly {
  kind: "heat-wave" | "head-drop" | "feed-diversion";
  /** Barn-days since placement. */
  fromDay: number;
  toDay: number;
  /** heat-wave: +°C; head-drop: fraction of head lost; feed-diversion: extra kg/day taken out. */
  size: number;
}

export interface BarnParams {
  barn: string;
  headPlaced: number;
  /** Wall-clock ms of placement. */
  placedAt: number;
  siloCapacityKg: number;
  /** Refill (and a delivery record) when the silo falls below this share of capacity. */
  refillBelow: number;
  seed: number;
  anomalies: Anomaly[];
}

export interface BarnState {
  day: number;
  head: number;
  temperature: number;
  humidity: number;
  ammonia: number;
  /** kg/day eaten by the whole herd now. */
  intakeKgPerDay: number;
}

const DAY = 86_400_000;

/** Small deterministic noise in [-1, 1] from a seed and a step. */
export function noise(seed: number, step: number): number {
  let x = (seed * 374761393 + step * 668265263) | 0;
  x = Math.imul(x ^ (x >>> 13), 1274126177);
  x ^= x >>> 16;
  return ((x >>> 0) / 0xffffffff) * 2 - 1;
}

export function intakePerPig(day: number): number {
  return 1.3 + 1.6 * Math.min(1, Math.max(0, day / 110));
}

export function stateAt(p: BarnParams, wall: number): BarnState {
  const age = (wall - p.placedAt) / DAY;
  const day = Math.max(0, age);
  const step = Math.floor(wall / 60_000);
  let head = Math.round(p.headPlaced * (1 - 0.0002 * day));
  let extraHeat = 0;
  for (const a of p.anomalies) {
    if (a.kind === "head-drop" && day >= a.fromDay) head = Math.round(head * (1 - a.size));
    if (a.kind === "heat-wave" && day >= a.fromDay && day < a.toDay) extraHeat += a.size;
  }
  const phase = (((wall % DAY) + DAY) % DAY) / DAY;
  const diurnal = Math.sin((phase - 0.375) * 2 * Math.PI);
  const temperature = 21 + 2.5 * diurnal + extraHeat + 0.3 * noise(p.seed, step);
  const humidity = Math.min(
    98,
    Math.max(30, 62 - 6 * diurnal + extraHeat * 1.5 + 1.5 * noise(p.seed + 1, step)),
  );
  const ammonia = Math.max(
    0,
    6 + 6 * (head / Math.max(1, p.headPlaced)) * Math.min(1, day / 60) + noise(p.seed + 2, step),
  );
  // Before placement the barn is being readied: the herd arrives at placement and is fed from then.
  return {
    day,
    head,
    temperature,
    humidity,
    ammonia,
    intakeKgPerDay: age < 0 ? 0 : head * intakePerPig(day),
  };
}

/** Extra feed taken out of the silo per day (feed resold instead of eaten) at `day`. */
export function divertedKgPerDay(p: BarnParams, day: number): number {
  let kg = 0;
  for (const a of p.anomalies)
    if (a.kind === "feed-diversion" && day >= a.fromDay && day < a.toDay) kg += a.size;
  return kg;
}
