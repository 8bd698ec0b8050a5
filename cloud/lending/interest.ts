import assert from "node:assert/strict";
import { ERR_VALIDATION } from "../../core/errors.ts";

/**
 * Interest arithmetic, exact in integers. ACT/360 (PBOC practice): the daily rate is the annual
 * rate / 360 and every calendar day the balance is out counts. With the annual rate in millionths
 * (rate_ppm), one day's interest in fen is balance_fen × rate_ppm / (360 × 10^6). We keep the
 * numerator Σ(balance_fen × rate_ppm) as a BigInt, so no precision is lost between postings, and
 * round to the fen once per posting: half-up (四舍五入, amounts are never negative here).
 */
export const DAY_MS = 86_400_000;
export const ACT360_DENOM = 360n * 1_000_000n;

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The numerator for `days` whole days of a balance at a rate. */
export function accrualNum(balanceFen: number, ratePpm: number, days: number): bigint {
  // Internal invariant: balances, rates and days are stored and validated as integers upstream.
  assert.ok(
    Number.isSafeInteger(balanceFen) && Number.isSafeInteger(ratePpm) && Number.isSafeInteger(days),
    "interest inputs must be safe integers",
  );
  return BigInt(balanceFen) * BigInt(ratePpm) * BigInt(days);
}

/** Rounds num / denom to an integer, half-up (for num ≥ 0); half away from zero for negatives. */
export function roundHalfUp(num: bigint, denom: bigint = ACT360_DENOM): bigint {
  const neg = num < 0n;
  const a = neg ? -num : num;
  const q = (a * 2n + denom) / (denom * 2n);
  return neg ? -q : q;
}

/** Fen to post now: the rounded total so far minus what earlier postings already booked. */
export function interestToPost(totalNum: bigint, postedFen: number): number {
  return Number(roundHalfUp(totalNum) - BigInt(postedFen));
}

/** Whole days from `fromMs` (a day start) to the start of the day holding `toMs`. */
export function wholeDays(fromMs: number, toMs: number): number {
  return Math.max(0, Math.floor((dayStart(toMs) - fromMs) / DAY_MS));
}

/** Parses "6%" / "0.06" / 0.06 into millionths. */
export function ratePpm(rate: number | string): number {
  const s = String(rate).trim();
  const v = s.endsWith("%") ? Number(s.slice(0, -1)) / 100 : Number(s);
  if (!Number.isFinite(v) || v < 0 || v > 1) throw ERR_VALIDATION(`bad annual rate '${rate}'`);
  return Math.round(v * 1_000_000);
}

/** Yuan as a display string from fen ("12.34"). */
export function yuan(fen: number): string {
  const neg = fen < 0;
  const a = Math.abs(fen);
  return `${neg ? "-" : ""}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}
