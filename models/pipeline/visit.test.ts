import { describe, expect, it } from "vitest";
import { VisitTracker } from "./visit.ts";

const v = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return Float32Array.from(xs, (x) => x / n);
};
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

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

  it("tracks a visit whose frames do not each reach the match threshold (continuity, not matching)", () => {
    // the pig turns its head: each frame resembles the previous one (cos ≈ 0.8) but drifts far
    // from the first (cos < 0.5), below a match threshold of 0.6
    const t = new VisitTracker(1000, () => 0.6 - 0.25);
    const frames = [v(1, 0, 0), v(1, 0.75, 0), v(0.6, 1, 0.2), v(0.1, 1, 0.5)];
    expect(cos(frames[0]!, frames[3]!)).toBeLessThan(0.5);
    let last: { frames: number; fused: Float32Array } = { frames: 0, fused: frames[0]! };
    for (const [i, f] of frames.entries()) last = t.add(f, i * 200);
    expect(last.frames).toBe(4);
    // a different animal stepping in right away does not continue the track
    expect(t.add(v(0, -1, 0.2), 1000).frames).toBe(1);
  });
});
