import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { accountProblem, bicProblem, cnapsValid, hasControlChars } from "./bank-ids.ts";
import { ratePpm } from "./interest.ts";
import { servicingSchema } from "./servicing-terms.ts";
import { thresholdsSchema, waterfallSchema } from "./thresholds.ts";

/** Request schemas for the lending API (also exported to the OpenAPI document). Money is integer fen. */
const fen = () => z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const time = () => z.union([z.number().int(), z.iso.datetime().transform((s) => Date.parse(s))]);

/** A name a bank file carries: no control characters (XML 1.0 and banks refuse them). */
const name = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !hasControlChars(v), "no control characters");
const bic = () =>
  z.string().superRefine((v, c) => {
    const p = bicProblem(v);
    if (p) c.addIssue({ code: "custom", message: p });
  });
const account = () =>
  z.string().superRefine((v, c) => {
    const p = accountProblem(v);
    if (p) c.addIssue({ code: "custom", message: p });
  });
const rate = () =>
  z.union([z.number(), z.string()]).superRefine((v, c) => {
    try {
      ratePpm(v);
    } catch {
      c.addIssue({ code: "custom", message: 'an annual rate from 0 to 100% (0.0435 or "4.35%")' });
    }
  });

export const borrowerInput = z.strictObject({
  id: ident().optional(),
  name: name(200),
  kind: z.enum(["cooperative", "farm"]),
});

export const supplierInput = z
  .strictObject({
    id: ident().optional(),
    name: name(140),
    /** Bank account number (8–30 digits) or an IBAN (mod-97 checked). */
    account: account(),
    bic: bic().optional(),
    /** CNAPS bank code (12 digits): how a Chinese bank is named when the supplier gives no BIC. */
    cnaps: z.string().refine(cnapsValid, "a 12-digit CNAPS bank code").optional(),
    bankName: name(140).optional(),
  })
  .refine((s) => s.bic !== undefined || s.cnaps !== undefined, {
    message: "give the supplier's bank as a BIC or a CNAPS code",
    path: ["bic"],
  });

export const facilityInput = z.strictObject({
  id: ident().optional(),
  borrowerId: ident(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default("CNY"),
  limitFen: fen().refine((v) => v > 0, "must be positive"),
  termStart: time(),
  termMonths: z.number().int().positive().max(120).default(14),
  maxDrawdownDays: z.number().int().positive().default(60),
  /** Annual rate as a fraction (0.0435) or "4.35%". */
  annualRate: rate(),
  dayCount: z.literal("ACT/360").default("ACT/360"),
  thresholds: thresholdsSchema.partial().default({}),
  waterfall: waterfallSchema,
  /** Time zone, penalty, grace days, fees, price series (servicing-terms.ts). */
  servicing: servicingSchema.default(servicingSchema.parse({})),
  debtor: z.strictObject({
    name: name(140),
    account: account(),
    bic: bic().optional(),
  }),
});

export const batchInput = z.strictObject({
  id: ident().optional(),
  facilityId: ident(),
  barn: ident(),
  species: z.enum(["broiler", "finishing-pig"]),
  headPlaced: z.number().int().positive(),
  placedAt: time(),
  cycleDays: z.number().int().positive().optional(),
  trancheDays: z.number().int().positive().max(60).default(7),
  devices: z.array(ident()).min(1),
  supplierId: ident(),
  feedPriceFenPerKg: fen().refine((v) => v > 0, "must be positive"),
  livePriceFenPerKg: fen().refine((v) => v > 0, "must be positive"),
});

export const overrideInput = z.strictObject({
  action: z.enum(["release", "hold"]),
  /** For a release: the amount to pay; defaults to the planned amount. */
  amountFen: fen().optional(),
  reason: z.string().min(10, "give the reason in at least 10 characters").max(2000),
});

export const repayInput = z.strictObject({
  amountFen: fen().refine((v) => v > 0, "must be positive"),
  reference: z.string().min(1).max(64),
  /** Pay everything owed today (the payoff quote) and close the batch; less is a 409. */
  payoff: z.boolean().optional(),
});

export const closeOverrideInput = z.strictObject({
  reason: z.string().min(10, "give the reason in at least 10 characters").max(2000),
});

export const exportInput = z.strictObject({
  executionDate: z.iso.date().optional(),
});

export type BorrowerInput = z.output<typeof borrowerInput>;
export type SupplierInput = z.output<typeof supplierInput>;
export type FacilityInput = z.output<typeof facilityInput>;
export type BatchInput = z.output<typeof batchInput>;
