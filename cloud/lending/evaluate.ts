import type { CloudContext } from "../context.ts";
import { saveFindings } from "../quality/store.ts";
import { raiseAlert, raiseEvidenceDemand } from "./alerts.ts";
import { applyDecision } from "./apply-decision.ts";
import { decide } from "./decide.ts";
import type { Decision } from "./decision-types.ts";
import { raiseFindingAlerts } from "./finding-alerts.ts";
import type { GateContext } from "./gate-context.ts";
import { gateContexts } from "./gate-inputs.ts";
import { gateDevices, gateEnvironment, gateHeadCount } from "./gates-a-b-c.ts";
import { gateDelivery, gateFeedUse } from "./gates-d-e.ts";
import { perFacility } from "./per-facility.ts";
import { analyseWindow } from "./quality-window.ts";
import { replan } from "./schedule.ts";

/** The gate context of one tranche: the set of one (gate-inputs.ts). */
export async function gateContext(
  ctx: CloudContext,
  trancheId: string,
  asOf: number,
  windowTo = asOf,
): Promise<GateContext> {
  return (await gateContexts(ctx, [trancheId], asOf, windowTo))[0]!;
}

export interface Assessment {
  decision: Decision;
  g: GateContext;
  verified: number | null;
}

/** Runs gates (a)–(e) on a context's loaded evidence and returns the decision: pure, nothing applied. */
export function assess(g: GateContext): Assessment {
  g.findings = analyseWindow(g);
  const a = gateDevices(g);
  const b = gateHeadCount(g);
  const c = gateEnvironment(g);
  const d = gateFeedUse(g, b.verified ?? Number(g.tranche.planned_head));
  const e = gateDelivery(g);
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

/** Runs the gates on the stored evidence and returns the decision, without applying it. */
export async function assessTranche(
  ctx: CloudContext,
  trancheId: string,
  asOf: number,
  windowTo = asOf,
): Promise<Assessment> {
  return assess(await gateContext(ctx, trancheId, asOf, windowTo));
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
  const [r] = await evaluateTranches(ctx, [trancheId], asOf);
  if (r instanceof Error) throw r;
  return r ?? null;
}

/** Tranches whose inputs are loaded together (bounds the evidence held in memory at once). */
export const EVALUATION_CHUNK = 50;

/**
 * Evaluates reserved tranches of distinct batches as a set: their gate inputs in a fixed number of
 * queries per chunk, the gates in memory, then each decision applied in its own transaction. Returns
 * per tranche the decision (null if another instance decided it first) or the error that stopped
 * it: one bad tranche does not stop the others. Tranches of one batch must go in separate calls,
 * oldest first (a later tranche's gates read the earlier one's outcome).
 */
export async function evaluateTranches(
  ctx: CloudContext,
  trancheIds: string[],
  asOf: number,
): Promise<Array<Decision | null | Error>> {
  const out: Array<Decision | null | Error> = [];
  for (let i = 0; i < trancheIds.length; i += EVALUATION_CHUNK) {
    const ids = trancheIds.slice(i, i + EVALUATION_CHUNK);
    let assessed: Array<Assessment | Error>;
    try {
      assessed = (await gateContexts(ctx, ids, asOf)).map((g) => attempt(() => assess(g)));
    } catch (e) {
      assessed = ids.map(() => asError(e));
    }
    out.push(
      ...(await perFacility(
        ctx,
        assessed,
        (a) => (a instanceof Error ? "" : a.g.batch.facility_id),
        async (a) => (a instanceof Error ? a : await applyAssessment(ctx, a, asOf).catch(asError)),
      )),
    );
  }
  return out;
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

function attempt<T>(f: () => T): T | Error {
  try {
    return f();
  } catch (e) {
    return asError(e);
  }
}

/**
 * Applies an assessed decision of a reserved tranche (applyDecision: its own money transaction,
 * conditional on the tranche still being reserved) and, if this call applied it, its side effects.
 */
export async function applyAssessment(
  ctx: CloudContext,
  { decision, g, verified }: Assessment,
  asOf: number,
): Promise<Decision | null> {
  const trancheId = g.tranche.id;
  const r = await applyDecision(ctx.db.kysely, {
    trancheId,
    decision,
    by: "engine",
    from: ["reserved"],
    at: asOf,
  });
  if (!r.applied) return null;
  const b = g.batch;
  // A tranche leaves "reserved" only by a decision, and findings are saved only behind one: a
  // tranche decided from "reserved" has none stored yet, so there is nothing to replace when it has none.
  if (g.findings.length) await saveFindings(ctx.db.kysely, b.id, trancheId, g.findings, asOf);
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
