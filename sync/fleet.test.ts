import { describe, expect, it } from "vitest";
import { fleetPacing } from "./fleet.ts";

describe("loadgen pacing", () => {
  it("keeps the average rate below one reading a second instead of rounding it up", () => {
    expect(fleetPacing(0.2)).toEqual({ every: 5000, perBatch: 1 });
    expect(fleetPacing(0.5)).toEqual({ every: 2000, perBatch: 1 });
    expect(fleetPacing(1)).toEqual({ every: 1000, perBatch: 1 });
    expect(fleetPacing(10)).toEqual({ every: 1000, perBatch: 10 });
    expect(fleetPacing(10, 200)).toEqual({ every: 200, perBatch: 2 });
    expect(fleetPacing(0.2, 1000)).toEqual({ every: 5000, perBatch: 1 });
    expect(fleetPacing(0.3)).toEqual({ every: 3333, perBatch: 1 });
    expect(fleetPacing(0.1, 50)).toEqual({ every: 10_000, perBatch: 1 });
    // An interval that rounds up (6,666.7 ms) still carries one reading, not two every 13.3 s.
    expect(fleetPacing(0.15)).toEqual({ every: 6667, perBatch: 1 });
    expect(fleetPacing(0.07)).toEqual({ every: 14_286, perBatch: 1 });
  });

  it("keeps a fractional rate above one a second by stretching the interval", () => {
    expect(fleetPacing(1.5)).toEqual({ every: 1333, perBatch: 2 });
    expect(fleetPacing(2.5, 200)).toEqual({ every: 400, perBatch: 1 });
    expect(fleetPacing(20, 50)).toEqual({ every: 50, perBatch: 1 });
  });
});
