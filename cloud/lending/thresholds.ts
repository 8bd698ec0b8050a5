import { z } from "zod";
import { qualityParamsSchema } from "../quality/params.ts";

/**
 * Per-facility gate thresholds and risk settings. Defaults are the lender's starting point
 * (docs/lending.md explains each); a facility may override any of them.
 */
export const thresholdsSchema = z.strictObject({
  /** (a) a batch device must have sent something within this many hours of the decision. */
  staleHours: z.number().positive().default(12),
  /** (a) the longest silence allowed between a device's records inside the window. */
  maxSilenceHours: z.number().positive().default(12),
  /** (b) verified/expected head at or above this releases in full. */
  headPass: z.number().min(0).max(1).default(0.95),
  /** (b) at or above this (and below headPass) releases reduced to the verified head; below it holds. */
  headHold: z.number().min(0).max(1).default(0.8),
  /** (c) share of readings within the species band, per environment stream. */
  envShare: z.number().min(0).max(1).default(0.9),
  /** (d) silo fall / expected intake must lie in [feedUseMin, feedUseMax]. */
  feedUseMin: z.number().min(0).default(0.8),
  feedUseMax: z.number().min(0).default(1.25),
  /** (e) silo rise after the previous release within this share of the kg paid for. */
  deliveryTolerance: z.number().min(0).max(1).default(0.1),
  /** (e) silo steps smaller than this are noise, not deliveries. */
  deliveryMinStepKg: z.number().min(0).default(25),
  /** (e) a paid order's feed must show up within this many hours of the release. */
  deliveryDueHours: z.number().positive().default(48),
  /** A tranche held for missing or unplaceable evidence is re-evaluated as evidence arrives, up to this many hours after its due time. */
  recheckHours: z.number().min(0).default(72),
  /** Evidence-quality parameters (cloud/quality/params.ts; docs/evidence-quality.md). */
  quality: z
    .record(z.string(), z.unknown())
    .default({})
    .superRefine((q, ctx) => {
      // Checked when the facility is written, so a typo never fails a decision later.
      const r = qualityParamsSchema.safeParse(q);
      for (const i of r.error?.issues ?? []) ctx.addIssue({ ...i, code: "custom", path: i.path });
    }),
  /** LTV (outstanding / (herd value + silo feed)) above this raises an alert and an evidence demand. */
  ltvAlert: z.number().positive().default(1),
  /** Head count below expected survival by more than this share raises an alert. */
  mortalitySlack: z.number().min(0).max(1).default(0.03),
  /** A reservation not posted or voided within this many hours is voided by the engine. */
  reservationHours: z.number().positive().default(24),
});
export type Thresholds = z.output<typeof thresholdsSchema>;

export function parseThresholds(json: string | undefined): Thresholds {
  return thresholdsSchema.parse(json ? JSON.parse(json) : {});
}

/** Evidence demand levels: the census interval the gateway is told to use as risk rises. */
export const CENSUS_INTERVALS = ["24h", "6h", "2h"] as const;

export const waterfallSchema = z
  .array(z.enum(["fees", "interest", "principal"]))
  .min(1)
  .default(["fees", "interest", "principal"]);
export type Waterfall = z.output<typeof waterfallSchema>;
