import { analyse } from "../quality/analyse.ts";
import { loadQualityInput } from "../quality/load.ts";
import { parseQualityParams } from "../quality/params.ts";
import type { Finding } from "../quality/types.ts";
import type { GateContext } from "./gate-context.ts";
import { at } from "./profile.ts";

/** The evidence-quality analysis (cloud/quality) of a tranche's decision window, for the gates. */
export async function analyseWindow(g: GateContext): Promise<Finding[]> {
  const params = parseQualityParams(g.th.quality, g.profile.quality);
  const input = await loadQualityInput(g.db, {
    batch: {
      id: g.batch.id,
      barn: g.batch.barn,
      headPlaced: Number(g.batch.head_placed),
      placedAt: Number(g.batch.placed_at),
    },
    devices: g.devices,
    from: g.from,
    to: g.to,
    asOf: g.asOf,
    lookbackDays: params.lookbackDays,
    intakeKgAt: (age) => at(g.profile.feedIntakeKg, Math.max(0, age)),
  });
  if (g.devices.length === 0) return [];
  return analyse(input, params);
}
