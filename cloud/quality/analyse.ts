import type { QualityParams } from "./params.ts";
import { CHECKS } from "./registry.ts";
import type { Finding, QualityInput } from "./types.ts";

/** Runs every registered check on one window. A check that throws is a bug: it fails loudly. */
export function analyse(input: QualityInput, params: QualityParams): Finding[] {
  return CHECKS.flatMap((c) => c.run(input, params));
}
