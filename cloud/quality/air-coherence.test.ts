import { describe, expect, it } from "vitest";
import { BarnAir } from "../lending/synth-air.ts";
import { analyse } from "./analyse.ts";
import { absoluteHumidity } from "./checks/air-coherence.ts";
import { parseQualityParams } from "./params.ts";
import { defaultParams, H, qualityInput, T0 } from "./test-input.ts";
import type { QRow, QualityInput } from "./types.ts";

const p = defaultParams;

function barn(o: {
  seed: number;
  noise: [number, number, number];
  fake?: (h: number, stream: string, v: number, u: () => number) => number;
}): QualityInput {
  let x = o.seed;
  const u = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 2 - 1;
  };
  const air = new BarnAir(
    { airingsPerDay: 2, dropC: 3.5, humidity: 62, waterFall: 0.12, ammoniaPpm: 12, ammoniaFall: 0.45 },
    T0,
  );
  const readings = new Map<string, QRow[]>();
  const add = (stream: string, h: number, v: number) => {
    const k = `gw1\0${stream}`;
    const list = readings.get(k) ?? [];
    const value = Math.round((o.fake?.(h, stream, v, u) ?? v) * 10) / 10;
    list.push({ device: "gw1", stream, seq: h + 1, kind: "reading", t: T0 + h * H, body: { value } });
    readings.set(k, list);
  };
  for (let h = 0; h < 14 * 24; h++) {
    const a = air.at(T0 + h * H, 23.5);
    add("env.temperature", h, a.temp + u() * o.noise[0]);
    add("env.humidity", h, Math.min(100, a.rh + u() * o.noise[1]));
    add("env.ammonia", h, Math.max(0, a.nh3 + u() * o.noise[2]));
  }
  return qualityInput({ readings });
}
const coherence = (q: QualityInput) => analyse(q, p).filter((f) => f.check === "air-coherence");

describe("air-coherence: temperature vs humidity vs ammonia", () => {
  it("absolute humidity follows the Magnus formula (20 °C, 50% RH ≈ 8.6 g/m³)", () => {
    expect(absoluteHumidity(20, 50)).toBeCloseTo(8.63, 1);
    expect(absoluteHumidity(30, 100)).toBeCloseTo(30.3, 0);
  });
  it("a real aired barn with ordinary sensor noise passes, for many noise draws", () => {
    for (let seed = 1; seed <= 20; seed++)
      expect(coherence(barn({ seed, noise: [1.5, 6, 3] })), `seed ${seed}`).toEqual([]);
  });
  it("ammonia at a fixed value with noise while the barn is aired is unusable, citing the airings", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const f = coherence(
        barn({
          seed,
          noise: [1, 4, 2],
          fake: (_h, s, v, u) => (s === "env.ammonia" ? 9 + 2 * u() : v),
        }),
      );
      expect(
        f.map((x) => [x.subject, x.unusable]),
        `seed ${seed}`,
      ).toEqual([["env.ammonia", true]]);
      expect(f[0]!.message).toMatch(/did not fall at \d+ of \d+ airings/);
      expect(f[0]!.cites.map((c) => c.stream).sort()).toEqual(["env.ammonia", "env.temperature"]);
    }
  });
  it("a replayed ammonia day (its airings at other hours) does not respond either", () => {
    const q = barn({ seed: 3, noise: [1, 4, 2] });
    const nh3 = q.readings.get("gw1\0env.ammonia")!;
    // The gateway re-sends the ammonia file shifted by 5 h: its dips no longer meet the airings.
    for (let i = nh3.length - 1; i >= 5; i--) nh3[i] = { ...nh3[i]!, body: nh3[i - 5]!.body };
    expect(coherence(q).map((f) => f.subject)).toEqual(["env.ammonia"]);
  });
  it("humidity whose water content jumps with steady temperature is unusable", () => {
    const f = coherence(
      barn({ seed: 2, noise: [1, 4, 2], fake: (_h, s, v, u) => (s === "env.humidity" ? 65 + 15 * u() : v) }),
    );
    expect(f.map((x) => [x.subject, x.unusable])).toEqual([["env.humidity", true]]);
    expect(f[0]!.message).toMatch(/jumped by more than 35% within an hour \d+ times/);
  });
  it("a barn never aired gives no ammonia verdict; the profile's parameters apply", () => {
    const still = barn({
      seed: 4,
      noise: [0.5, 3, 2],
      fake: (_h, s, v) => (s === "env.temperature" ? 23.5 : v),
    });
    expect(coherence(still)).toEqual([]);
    const strict = parseQualityParams({}, { air: { ahJumpShare: 0.05, ahJumpMin: 1, ahJumpRate: 0 } });
    expect(strict.air.ahJumpShare).toBe(0.05);
    expect(strict.air.airingDropC).toBe(2.5);
    const over = parseQualityParams({ air: { ahJumpMin: 9 } }, { air: { ahJumpShare: 0.05 } });
    expect([over.air.ahJumpShare, over.air.ahJumpMin]).toEqual([0.05, 9]);
  });
});
