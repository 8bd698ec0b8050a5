import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { type AlertInput, raiseAlert } from "./alerts.ts";
import type { GateContext } from "./gate-context.ts";

/**
 * One alert per warning or critical finding of a decided window (info findings stay on the batch
 * page). Deduplicated per tranche, check, device and subject, so ticks and re-evaluations of the
 * same window do not repeat it.
 */
export function findingAlerts(g: GateContext, trancheId: string, at: number): AlertInput[] {
  return g.findings
    .filter((f) => f.severity !== "info")
    .map((f) => ({
      facilityId: g.batch.facility_id,
      batchId: g.batch.id,
      kind: `quality_${f.check.replaceAll("-", "_")}`,
      severity: f.severity as "warning" | "critical",
      message: `batch ${g.batch.id} tranche ${g.tranche.seq}: ${f.message}`,
      detail: { trancheId, check: f.check, subject: f.subject, unusable: f.unusable, cites: f.cites },
      dedupe: `quality:${trancheId}:${f.check}:${f.device ?? ""}:${f.subject}`,
      at,
    }));
}

/** Raises a decided window's finding alerts (findingAlerts), one by one. */
export async function raiseFindingAlerts(db: Kysely<DB>, g: GateContext, trancheId: string, at: number) {
  for (const a of findingAlerts(g, trancheId, at)) await raiseAlert(db, a);
}
