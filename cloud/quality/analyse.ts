import { ERR_QUALITY_CHECK } from "./errors.ts";
import type { QualityParams } from "./params.ts";
import { CHECKS } from "./registry.ts";
import type { Finding, QualityInput } from "./types.ts";

/** Runs every registered check on one window. A check that throws is a bug: it fails loudly, named. */
export function analyse(input: QualityInput, params: QualityParams): Finding[] {
  return CHECKS.flatMap((c) => {
    try {
      return c.run(input, params);
    } catch (e) {
      throw ERR_QUALITY_CHECK(
        `check ${c.id} failed on batch ${input.batch.id}: ${(e as Error).message}`,
        { check: c.id, batch: input.batch.id },
        e,
      );
    }
  });
}
