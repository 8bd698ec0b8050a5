import { defineError } from "../../core/errors.ts";

/** Evidence-quality error codes (listed in docs/errors.md). */
export const ERR_QUALITY_PARAMS = defineError(
  "BL_QUALITY_PARAMS",
  400,
  "Evidence-quality parameters (a facility's thresholds `quality`, a species profile's `quality`) are invalid.",
);
export const ERR_QUALITY_CHECK = defineError(
  "BL_QUALITY_CHECK",
  500,
  "An evidence-quality check failed on a decision window; no decision is made on that window until it is fixed.",
);
