import { describe, expect, it } from "vitest";
import { ACT360_DENOM, accrualNum, ratePpm, roundHalfUp, yuan } from "../interest.ts";
import { loadProfile } from "../profile.ts";
import { planTranches } from "../schedule.ts";

/**
 * The digital farm loan model's broiler example: a 42-day cycle, ~¥12 of feed per bird, staged
 * feed finance costing ~¥0.06 of interest per bird, about half a lump-sum loan. The model gives
 * no rate; we state ours: 10% a year, ACT/360, repaid at day 42.
 */
describe("broiler example", () => {
  const profile = loadProfile("broiler");
  const head = 20_000;
  const plan = planTranches({
    profile,
    head,
    headAtDay: 0,
    placedAt: 0,
    cycleDays: 42,
    trancheDays: 7,
    feedPriceFenPerKg: 260,
  });
  const rate = ratePpm("10%");
  const staged = roundHalfUp(
    plan.reduce((n, t) => n + accrualNum(t.fen, rate, 42 - t.fromDay), 0n),
    ACT360_DENOM,
  );
  const total = plan.reduce((s, t) => s + t.fen, 0);
  const lump = roundHalfUp(accrualNum(total, rate, 42), ACT360_DENOM);

  it("feeds a bird for ~¥12 over 42 days in six weekly tranches", () => {
    expect(plan).toHaveLength(6);
    expect(total / head / 100).toBeGreaterThan(11.5);
    expect(total / head / 100).toBeLessThan(12.5);
  });

  it("costs ~¥0.06 of interest per bird staged, under half the lump sum", () => {
    const perBirdStaged = Number(staged) / head / 100;
    const perBirdLump = Number(lump) / head / 100;
    console.log(
      `feed ¥${yuan(total)} (¥${(total / head / 100).toFixed(2)}/bird); interest staged ¥${perBirdStaged.toFixed(4)}/bird, lump ¥${perBirdLump.toFixed(4)}/bird, ratio ${(perBirdStaged / perBirdLump).toFixed(3)}`,
    );
    expect(perBirdStaged).toBeGreaterThan(0.055);
    expect(perBirdStaged).toBeLessThan(0.065);
    const ratio = Number(staged) / Number(lump);
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(0.55);
  });

  it("rounds once per posting, half-up", () => {
    expect(roundHalfUp(5n, 10n)).toBe(1n);
    expect(roundHalfUp(4n, 10n)).toBe(0n);
    expect(roundHalfUp(15n, 10n)).toBe(2n);
    expect(roundHalfUp(-15n, 10n)).toBe(-2n);
    // ¥1,000,000 at 3.65% for one day, ACT/360: 101.3888… yuan → 10139 fen.
    expect(roundHalfUp(accrualNum(100_000_000, ratePpm("3.65%"), 1))).toBe(10139n);
  });
});
