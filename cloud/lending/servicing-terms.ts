import { z } from "zod";
import { DEFAULT_TIME_ZONE, isTimeZone } from "./local-day.ts";

/**
 * A facility's servicing terms (stored as JSON in lending_facilities.servicing). Defaults keep a
 * facility created before these terms existed behaving as it did, except that days are counted in
 * Asia/Shanghai (the borrower's calendar) instead of UTC.
 */
export const feeSchema = z.strictObject({
  name: z.string().min(1).max(60),
  /** fixed: once per batch at its first release; percent: of each release; periodic: every `everyDays`. */
  kind: z.enum(["fixed", "percent", "periodic"]),
  /** fen for fixed and periodic; for percent, the rate in parts per million of the release (1% = 10000). */
  amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  everyDays: z.number().int().positive().max(366).optional(),
});

export const servicingSchema = z.strictObject({
  timeZone: z
    .string()
    .refine(isTimeZone, "an IANA time zone such as Asia/Shanghai")
    .default(DEFAULT_TIME_ZONE),
  /** Extra annual rate on overdue principal, in parts per million (default 50% of a 10% rate = 50000). */
  penaltyRatePpm: z.number().int().nonnegative().max(1_000_000).default(0),
  /** Days after a drawdown's maturity before it counts as overdue (no penalty within them). */
  graceDays: z.number().int().nonnegative().max(90).default(0),
  fees: z.array(feeSchema).max(20).default([]),
  /** Price series (lending_prices.series) that revalues the herd; absent: the batch's live price. */
  priceSeries: z.string().min(1).max(60).optional(),
});
export type ServicingTerms = z.output<typeof servicingSchema>;
export type Fee = z.output<typeof feeSchema>;

export function parseServicing(json: string | null | undefined): ServicingTerms {
  return servicingSchema.parse(json ? JSON.parse(json) : {});
}
