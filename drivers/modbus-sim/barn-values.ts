import { type BarnParams, stateAt } from "../sim-barn/model.ts";

/** What the simulated transmitters show at a wall time. */
export interface BarnValues {
  temperature: number;
  humidity: number;
  ammonia: number;
  siloKg: number;
}

/** The seam: any function of wall time can drive the simulated devices. */
export type BarnValuesAt = (wallMs: number) => BarnValues;

/**
 * Climate and ammonia from the simulated barn (drivers/sim-barn/model.ts); the silo as a plain
 * sawtooth (emptied by the herd's intake, refilled at a quarter) since the barn model keeps its silo
 * as state inside its own source.
 */
export function barnModelValues(p: Partial<BarnParams> = {}): BarnValuesAt {
  const params: BarnParams = {
    barn: "barn-a",
    headPlaced: 500,
    placedAt: Date.now() - 30 * 86_400_000,
    siloCapacityKg: 12_000,
    refillBelow: 0.25,
    seed: 1,
    anomalies: [],
    ...p,
  };
  return (wall) => {
    const s = stateAt(params, wall);
    const cap = params.siloCapacityKg;
    const usable = cap * (0.9 - params.refillBelow);
    const eatenKg = (s.intakeKgPerDay * (wall - params.placedAt)) / 86_400_000;
    const siloKg = cap * 0.9 - (((eatenKg % usable) + usable) % usable);
    return { temperature: s.temperature, humidity: s.humidity, ammonia: s.ammonia, siloKg };
  };
}
