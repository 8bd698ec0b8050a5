import type { CloudContext } from "../context.ts";
import { saveFindings } from "../quality/store.ts";
import { raiseAlert, raiseEvidenceDemand } from "./alerts.ts";
import { applyDecision } from "./apply-decision.ts";
import { decide } from "./decide.ts";
import type { Decision } from "./decision-types.ts";
import { raiseFindingAlerts } from "./finding-alerts.ts";
import type { GateContext } from "./gate-context.ts";
import { gateDevices, gateEnvironment, gateHeadCount } from "./gates-a-b-c.ts";
import { gateDelivery, gateFeedUse } from "./gates-d-e.ts";
import { DAY_MS } from "./interest.ts";
import { loadProfile } from "./profile.ts";
import { analyseWindow } from "./quality-window.ts";
import { replan } from "./schedule.ts";
import { parseThresholds } from "./thresholds.ts";

/** Builds the gate context for a tranche: its window runs from the previous tranche's due time to now. */
export async function gateContext(
  ctx: CloudContext,
  trancheId: string,
  asOf: number,
  windowTo = asOf,
): Promise<GateContext> {
  const db = ctx.db.kysely;
  const tranche = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("id", "=", trancheId)
    .executeTakeFirstOrThrow();
  const batch = await db
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", tranche.batch_id)
    .executeTakeFirstOrThrow();
  const f = await db
    .selectFrom("lending_facilities")
    .select(["thresholds"])
    .where("id", "=", batch.facility_id)
    .executeTakeFirstOrThrow();
  const earlier = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("batch_id", "=", batch.id)
    .where("seq", "<", tranche.seq)
    .orderBy("seq", "desc")
    .execute();
  const from = earlier[0] ? Number(earlier[0].due_at) : Number(batch.placed_at) - DAY_MS;
  const rel = earlier.filter((t) => t.status === "released");
  const refs = rel.length
    ? await db
        .selectFrom("lending_payment_orders")
        .select(["tranche_id", "end_to_end_id"])
        .where(
          "tranche_id",
          "in",
          rel.map((t) => t.id),
        )
        .execute()
    : [];
  return {
    db,
    batch,
    devices: JSON.parse(batch.devices) as string[],
    profile: loadProfile(batch.species),
    th: parseThresholds(f.thresholds),
    tranche,
    prevReleased: rel[0],
    released: rel.map((t) => ({
      ...t,
      endToEndId: refs.find((r) => r.tranche_id === t.id)?.end_to_end_id ?? null,
    })),
    findings: [],
    from,
    to: windowTo,
    asOf,
  };
}

/** Runs gates (a)–(e) on the stored evidence and returns the decision, without applying it. */
export async function assessTranche(
  ctx: CloudContext,
  trancheId: string,
  asOf: number,
  windowTo = asOf,
): Promise<{ decision: Decision; g: GateContext; verified: number | null }> {
  const g = await gateContext(ctx, trancheId, asOf, windowTo);
  g.findings = await analyseWindow(g);
  const a = await gateDevices(g);
  const b = await gateHeadCount(g);
  const c = await gateEnvironment(g);
  const d = await gateFeedUse(g, b.verified ?? Number(g.tranche.planned_head));
  const e = await gateDelivery(g);
  const { verified, ...bResult } = b;
  const decision = decide(
    [a, bResult, c, d, e],
    {
      head: Number(g.tranche.planned_head),
      kg: Number(g.tranche.planned_kg),
      feedPriceFenPerKg: Number(g.batch.feed_price_fen_per_kg),
    },
    g.th,
  );
  return { decision, g, verified };
}

/**
 * Evaluates a reserved tranche and applies the outcome. Only the instance whose conditional update
 * wins applies side effects (re-plan, alerts, evidence demands); the loser returns null.
 */
export async function evaluateTranche(
  ctx: CloudContext,
  trancheId: string,
  asOf: number,
): Promise<Decision | null> {
  const { decision, g, verified } = await assessTranche(ctx, trancheId, asOf);
  const r = await applyDecision(ctx.db.kysely, {
    trancheId,
    decision,
    by: "engine",
    from: ["reserved"],
    at: asOf,
  });
  if (!r.applied) return null;
  const b = g.batch;
  await saveFindings(ctx.db.kysely, b.id, trancheId, g.findings, asOf);
  await raiseFindingAlerts(ctx.db.kysely, g, trancheId, asOf);
  if (verified !== null) await replan(ctx.db.kysely, b, g.profile, verified, asOf);
  if (decision.outcome !== "release") {
    const what = decision.outcome === "hold" ? "held" : "reduced";
    await raiseAlert(ctx.db.kysely, {
      facilityId: b.facility_id,
      batchId: b.id,
      kind: `tranche_${what}`,
      severity: decision.outcome === "hold" ? "critical" : "warning",
      message: `batch ${b.id} tranche ${g.tranche.seq} ${what}: ${decision.reasons.join("; ")}`,
      detail: { trancheId, reasons: decision.reasons },
      dedupe: `tranche:${trancheId}`,
      at: asOf,
    });
    await raiseEvidenceDemand(ctx, b.id, `tranche ${g.tranche.seq} ${what}`, asOf);
  }
  return decision;
}
