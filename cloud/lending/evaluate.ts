import type { CloudContext } from "../context.ts";
import { saveFindings } from "../quality/store.ts";
import { raiseAlert, raiseEvidenceDemand } from "./alerts.ts";
import { applyDecisionsIn, type BatchApplied, type BatchItem, type Command } from "./apply-batch.ts";
import { applyDecision } from "./apply-decision.ts";
import { decide } from "./decide.ts";
import type { Decision } from "./decision-types.ts";
import { findingAlerts, raiseFindingAlerts } from "./finding-alerts.ts";
import type { GateContext } from "./gate-context.ts";
import { gateContexts } from "./gate-inputs.ts";
import { gateDevices, gateEnvironment, gateHeadCount } from "./gates-a-b-c.ts";
import { gateDelivery, gateFeedUse } from "./gates-d-e.ts";
import { heldFenOf, limitOrder } from "./limit.ts";
import { moneyTx } from "./money-tx.ts";
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
 * queries per chunk, the gates in memory, then the chunk's decisions applied in one transaction
 * (applyAssessments; one at a time if that fails). Returns
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
    out.push(...(await applyAssessments(ctx, assessed, asOf)));
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

/** What applyAssessment raises behind an applied decision: its alerts and evidence demand. */
function sideEffects({ decision, g }: Assessment, asOf: number): Omit<BatchItem, "input"> {
  const trancheId = g.tranche.id;
  const b = g.batch;
  const alerts = findingAlerts(g, trancheId, asOf);
  if (decision.outcome === "release") return { alerts };
  const what = decision.outcome === "hold" ? "held" : "reduced";
  alerts.push({
    facilityId: b.facility_id,
    batchId: b.id,
    kind: `tranche_${what}`,
    severity: decision.outcome === "hold" ? "critical" : "warning",
    message: `batch ${b.id} tranche ${g.tranche.seq} ${what}: ${decision.reasons.join("; ")}`,
    detail: { trancheId, reasons: decision.reasons },
    dedupe: `tranche:${trancheId}`,
    at: asOf,
  });
  return { alerts, demand: `tranche ${g.tranche.seq} ${what}` };
}

/**
 * Applies the assessed decisions of a chunk (reserved tranches of distinct batches) in one money
 * transaction (applyDecisionsIn: the decisions, their money, alerts and evidence demands by set),
 * then saves the applied ones' findings, re-plans from verified heads and sends the demands'
 * commands. If the set's transaction fails for any reason, nothing of it stays and each decision is
 * applied one at a time instead (applyAssessment), so one bad tranche never holds up the others.
 */
export async function applyAssessments(
  ctx: CloudContext,
  assessed: Array<Assessment | Error>,
  asOf: number,
): Promise<Array<Decision | null | Error>> {
  const ok = assessed.filter((a): a is Assessment => !(a instanceof Error));
  const items: BatchItem[] = ok.map((a) => ({
    input: { trancheId: a.g.tranche.id, decision: a.decision, by: "engine", from: ["reserved"], at: asOf },
    ...sideEffects(a, asOf),
  }));
  let set: BatchApplied;
  try {
    set = await moneyTx(ctx.db.kysely, (trx) => applyDecisionsIn(trx, items));
  } catch (e) {
    ctx.log.warn({ err: e, tranches: items.length }, "lending: set of decisions failed; applying one by one");
    // In the limit's order, as the set (limitOrder), each facility's one after another.
    const held = await heldFenOf(
      ctx.db.kysely,
      ok.map((a) => a.g.tranche.id),
    );
    const order = limitOrder(
      assessed,
      (a) => (a instanceof Error ? { outcome: "hold", amountFen: 0 } : a.decision),
      (a) => (a instanceof Error ? 0 : (held.get(a.g.tranche.id) ?? 0)),
    );
    const out = await perFacility(
      ctx,
      order.map((i) => assessed[i]!),
      (a) => (a instanceof Error ? "" : a.g.batch.facility_id),
      async (a) => (a instanceof Error ? a : await applyAssessment(ctx, a, asOf).catch(asError)),
    );
    const back = new Array<Decision | null | Error>(assessed.length);
    for (const [k, i] of order.entries()) back[i] = out[k]!;
    return back;
  }
  const done = new Map<Assessment, Decision | null | Error>();
  for (const [i, a] of ok.entries()) {
    if (!set.results[i]!.applied) {
      done.set(a, null);
      continue;
    }
    try {
      const b = a.g.batch;
      if (a.g.findings.length) await saveFindings(ctx.db.kysely, b.id, a.g.tranche.id, a.g.findings, asOf);
      if (a.verified !== null) await replan(ctx.db.kysely, b, a.g.profile, a.verified, asOf);
      done.set(a, a.decision);
    } catch (e) {
      done.set(a, asError(e));
    }
  }
  await sendCommands(ctx, set.commands);
  return assessed.map((a) => (a instanceof Error ? a : done.get(a)!));
}

/** A device that is offline gets the command when it reconnects; a failed publish is logged (the demand row records the ask). */
async function sendCommands(ctx: CloudContext, commands: Command[]) {
  for (const c of commands)
    await ctx.sendCommand(c.device, c.name, c.args).catch((e: unknown) => {
      ctx.log.warn(
        { err: e, device: c.device, batchId: c.batchId },
        "lending: census.interval command failed",
      );
    });
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
