import { parseQualityParams } from "./params.ts";
import type { QRow, QualityInput } from "./types.ts";

/** Fixtures the quality checks' tests share: one broiler batch of two weeks on one gateway. */
export const H = 3_600_000;
export const T0 = Date.parse("2025-03-03T00:00:00Z");
export const defaultParams = parseQualityParams({});

/** Readings keyed as the loader keys them (`device\0stream`), in the order given. */
export function readingsOf(rows: QRow[]): Map<string, QRow[]> {
  const readings = new Map<string, QRow[]>();
  for (const r of rows.filter((x) => x.kind === "reading")) {
    const k = `${r.device}\0${r.stream}`;
    readings.set(k, [...(readings.get(k) ?? []), r]);
  }
  return readings;
}

/**
 * The quality input of batch b1 (20,000 head placed at T0 on barn1, device gw1), decided over its
 * second week with the first as look-back: no evidence unless `extra` gives some.
 */
export function qualityInput(extra: Partial<QualityInput> = {}): QualityInput {
  return {
    batch: { id: "b1", barn: "barn1", headPlaced: 20_000, placedAt: T0 },
    devices: ["gw1"],
    from: T0 + 7 * 24 * H,
    to: T0 + 14 * 24 * H,
    asOf: T0 + 14 * 24 * H,
    lookbackFrom: T0,
    readings: new Map(),
    census: [],
    frames: [],
    deliveries: [],
    herdEvents: [],
    unplaced: [],
    corrected: [],
    intakeKgAt: () => 0.1,
    ...extra,
  };
}
