import { describe, expect, it } from "vitest";
import { VisitTracker } from "./visit.ts";

const v = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs, (x) => x / n);
};

describe("VisitTracker", () => {
  it("fuses resembling frames close in time, and starts a new visit on a gap or another face", () => {
    const t = new VisitTracker(1000, () => 0.7);
    expect(t.add(v(1, 0.1, 0), 0).frames).toBe(1);
    const second = t.add(v(1, -0.1, 0), 500);
    expect(second.frames).toBe(2);
    expect(second.fused[1]).toBeCloseTo(0, 5);
    expect(Math.hypot(...second.fused)).toBeCloseTo(1, 5);
    expect(t.add(v(0, 1, 0), 600).frames).toBe(1);
    expect(t.add(v(0, 1, 0.1), 5000).frames).toBe(1);
  });
});
