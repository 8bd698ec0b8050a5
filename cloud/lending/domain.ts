import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { thresholdsSchema, waterfallSchema } from "./thresholds.ts";

/** Request schemas for the lending API (also exported to the OpenAPI document). Money is integer fen. */
const fen = () => z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const time = () => z.union([z.number().int(), z.iso.datetime().transform((s) => Date.parse(s))]);

export const borrowerInput = z.strictObject({
  id: ident().optional(),
  name: z.string().min(1).max(200),
  kind: z.enum(["cooperative", "farm"]),
});

export const supplierInput = z.strictObject({
  id: ident().optional(),
  name: z.string().min(1).max(140),
  /** Bank account number (or IBAN where the bank uses one). */
  account: z.string().regex(/^[A-Za-z0-9]{4,34}$/, "4–34 letters or digits"),
  bic: z
    .string()
    .regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/, "an 8 or 11 character BIC")
    .optional(),
  bankName: z.string().max(140).optional(),
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
  annualRate: z.union([z.number().min(0).max(1), z.string().regex(/^\d+(\.\d+)?%?$/)]),
  dayCount: z.literal("ACT/360").default("ACT/360"),
  thresholds: thresholdsSchema.partial().default({}),
  waterfall: waterfallSchema,
  debtor: z.strictObject({
    name: z.string().min(1).max(140),
    account: z.string().regex(/^[A-Za-z0-9]{4,34}$/, "4–34 letters or digits"),
    bic: z
      .string()
      .regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/)
      .optional(),
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
});

export const exportInput = z.strictObject({
  executionDate: z.iso.date().optional(),
});

export type BorrowerInput = z.output<typeof borrowerInput>;
export type SupplierInput = z.output<typeof supplierInput>;
export type FacilityInput = z.output<typeof facilityInput>;
export type BatchInput = z.output<typeof batchInput>;
