import type { CloudContext } from "../context.ts";
import { saveFindings } from "../quality/store.ts";
import { raiseAlert } from "./alerts.ts";
import { applyDecision } from "./apply-decision.ts";
import { awaitsEvidence, type Decision, type GateResult } from "./decision-types.ts";
import { assessTranche } from "./evaluate.ts";
import { raiseFindingAlerts } from "./finding-alerts.ts";
import { replan } from "./schedule.ts";
import { parseThresholds } from "./thresholds.ts";

const H = 3_600_000;

/**
 * No permanent holds for late evidence. A tranche the engine held only for missing or not yet
 * placeable evidence is assessed again, on its own window, each tick in which new records of the
 * batch's devices have arrived since its last decision, until `recheckHours` after its due time
 * (per facility). A changed outcome or reasons is a new decision: the history keeps both, and a
 * release goes through applyDecision's conditional update (held → released), so it happens once.
 */
export async function recheckHeld(ctx: CloudContext, now: number): Promise<void> {
  const db = ctx.db.kysely;
  const held = await db
    .selectFrom("lending_tranches as t")
    .innerJoin("lending_batches as b", "b.id", "t.batch_id")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["t.id", "t.due_at", "t.decided_at", "b.devices", "f.thresholds"])
    .where("b.status", "=", "open")
    .where("t.status", "=", "held")
    .orderBy("t.due_at")
    .execute();
  const due = held.filter((t) => now <= Number(t.due_at) + parseThresholds(t.thresholds).recheckHours * H);
  if (due.length === 0) return;
  // Set-based: the decision histories of all held tranches in one query, then one query for the
  // newest arrival per device since the oldest of their last decisions.
  const histories = new Map<
    string,
    Array<{ outcome: string; gates: string; reasons: string; decided_by: string; decided_at: number }>
  >();
  for (const part of slices(due.map((t) => t.id)))
    for (const d of await db
      .selectFrom("lending_decisions")
      .select(["tranche_id", "outcome", "gates", "reasons", "decided_by", "decided_at"])
      .where("tranche_id", "in", part)
      .orderBy("decided_at")
      .execute())
      histories.set(d.tranche_id, [...(histories.get(d.tranche_id) ?? []), d]);
  const waiting = [];
  for (const t of due) {
    const history = histories.get(t.id) ?? [];
    const last = history.at(-1);
    const first = history.find((d) => d.decided_by === "engine");
    if (!last || !first || last.decided_by !== "engine") continue;
    const gates = JSON.parse(last.gates) as GateResult[];
    if (!awaitsEvidence({ outcome: "hold", gates })) continue;
    const devices = JSON.parse(t.devices) as string[];
    if (devices.length === 0) continue;
    waiting.push({ id: t.id, devices, last, first });
  }
  if (waiting.length === 0) return;
  const since = Math.min(...waiting.map((w) => Number(w.last.decided_at)));
  const newest = new Map<string, number>();
  for (const part of slices([...new Set(waiting.flatMap((w) => w.devices))]))
    for (const r of await db
      .selectFrom("records")
      .select(["device", (eb) => eb.fn.max("received_at").as("at")])
      .where("device", "in", part)
      .where("received_at", ">", since)
      .where("received_at", "<=", now)
      .groupBy("device")
      .execute())
      newest.set(r.device, Number(r.at));
  for (const w of waiting) {
    // New records of the batch's devices since its last decision (and by now).
    if (!w.devices.some((d) => (newest.get(d) ?? Number.NEGATIVE_INFINITY) > Number(w.last.decided_at)))
      continue;
    try {
      await recheckOne(ctx, w.id, now, Number(w.first.decided_at), w.last.reasons);
    } catch (e) {
      ctx.log.error({ err: e, tranche: w.id }, "lending: re-evaluation failed");
    }
  }
}

/** `in` lists in slices, so many tranches or devices never exceed a statement's parameter limit. */
function slices<T>(xs: T[], n = 5000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

async function recheckOne(
  ctx: CloudContext,
  trancheId: string,
  now: number,
  windowTo: number,
  lastReasons: string,
) {
  const { decision, g, verified } = await assessTranche(ctx, trancheId, now, windowTo);
  const d: Decision = {
    ...decision,
    reasons: decision.reasons.map((r) =>
      decision.outcome === "hold" ? r : `re-evaluated on late evidence: ${r}`,
    ),
  };
  if (d.outcome === "hold" && JSON.stringify(d.reasons) === lastReasons) return;
  const r = await applyDecision(ctx.db.kysely, {
    trancheId,
    decision: d,
    by: "engine",
    from: ["held"],
    at: now,
  });
  if (!r.applied) return;
  await saveFindings(ctx.db.kysely, g.batch.id, trancheId, g.findings, now);
  await raiseFindingAlerts(ctx.db.kysely, g, trancheId, now);
  if (d.outcome === "hold") return;
  if (verified !== null) await replan(ctx.db.kysely, g.batch, g.profile, verified, now);
  await raiseAlert(ctx.db.kysely, {
    facilityId: g.batch.facility_id,
    batchId: g.batch.id,
    kind: "tranche_rechecked",
    severity: "info",
    message: `batch ${g.batch.id} tranche ${g.tranche.seq} ${d.outcome === "release" ? "released" : "reduced"} on evidence that arrived after it was held`,
    detail: { trancheId, reasons: d.reasons },
    dedupe: `recheck:${trancheId}`,
    at: now,
  });
}
