import type { CloudContext } from "../context.ts";
import { ERR_PATROL_NOT_FOUND } from "./errors.ts";
import { type InspectionBody, type RoundBody, recordsOfKind, type Stored } from "./store.ts";

export interface Finding {
  type: "violation" | "missed-checkpoint";
  checkpoint: string;
  check?: string;
  checkType?: string;
  expected?: string;
  seen?: string;
  frameSha256?: string;
  reason?: string;
  review?: { verdict: string; note: string; by: string; at: number };
}

export interface CheckpointRow {
  checkpoint: string;
  status: "ok" | "violations" | "missed";
  arrivedAt?: number;
  readings?: Record<string, number | boolean>;
  checks?: InspectionBody["checks"];
  /** Checks that could not run, and why (not findings: nothing was seen to be wrong). */
  notChecked?: Array<{ check: string; reason: string }>;
  reason?: string;
}

export interface RoundReport {
  device: string;
  round: number;
  plan: string;
  startedAt: number;
  endedAt: number | null;
  /** false while the robot has not docked (or its summary not arrived): checkpoints may still come. */
  complete: boolean;
  checkpoints: CheckpointRow[];
  findings: Finding[];
  counts: { planned: number; inspected: number; violations: number; missed: number; notChecked: number };
  battery?: number;
}

/** Rounds of a robot, newest first: from round summaries, and from inspections of rounds not yet summarised. */
export async function listRounds(ctx: CloudContext, device: string) {
  const [rounds, insp] = await Promise.all([
    recordsOfKind<RoundBody>(ctx, device, "round"),
    recordsOfKind<InspectionBody>(ctx, device, "inspection"),
  ]);
  const by = new Map<
    number,
    {
      round: number;
      plan: string;
      startedAt: number;
      endedAt: number | null;
      inspected: number;
      violations: number;
      missed: number;
    }
  >();
  for (const r of rounds)
    by.set(r.body.round, {
      round: r.body.round,
      plan: r.body.plan,
      startedAt: r.body.startedAt,
      endedAt: r.body.endedAt,
      inspected: 0,
      violations: 0,
      missed: r.body.planned.filter((p) => !r.body.visited.includes(p)).length,
    });
  for (const i of insp) {
    const e = by.get(i.body.round) ?? {
      round: i.body.round,
      plan: i.body.plan,
      startedAt: i.body.round * 1000,
      endedAt: null,
      inspected: 0,
      violations: 0,
      missed: 0,
    };
    e.inspected++;
    e.violations += i.body.violations.length;
    by.set(i.body.round, e);
  }
  return [...by.values()].sort((a, b) => b.round - a.round);
}

/**
 * One round's inspection report: each planned checkpoint with what was checked and found, every
 * violation (with the frame it was seen in and any operator review), and a missed-checkpoint
 * finding for each planned checkpoint with no inspection in the cloud (with the robot's reason
 * when it gave one). Built from the signed records alone, so anyone holding them can rebuild it.
 */
export async function roundReport(ctx: CloudContext, device: string, round: number): Promise<RoundReport> {
  const from = round * 1000;
  const summaries = await recordsOfKind<RoundBody>(ctx, device, "round", from);
  const summary = summaries.find((s) => s.body.round === round)?.body;
  const insp = (
    await recordsOfKind<InspectionBody>(ctx, device, "inspection", from, summary?.endedAt)
  ).filter((i) => i.body.round === round);
  if (!summary && insp.length === 0) throw ERR_PATROL_NOT_FOUND(`robot '${device}' has no round ${round}`);
  const reviews = await ctx.db.kysely
    .selectFrom("patrol_reviews")
    .selectAll()
    .where("device", "=", device)
    .where("round", "=", round)
    .execute();
  const reviewOf = (cp: string, check: string) => {
    const r = reviews.find((x) => x.checkpoint === cp && x.check_id === check);
    return r ? { verdict: r.verdict, note: r.note, by: r.reviewed_by, at: Number(r.reviewed_at) } : undefined;
  };
  // A checkpoint inspected twice in a round (the robot went back) reports its last inspection.
  const last = new Map<string, Stored<InspectionBody>>();
  for (const i of insp) last.set(i.body.checkpoint, i);
  const planned = summary?.planned ?? [...last.keys()];
  const order = [...planned, ...[...last.keys()].filter((c) => !planned.includes(c))];
  const findings: Finding[] = [];
  const rows: CheckpointRow[] = order.map((cp) => {
    const i = last.get(cp)?.body;
    if (!i) {
      const reason =
        summary?.skipped.find((s) => s.checkpoint === cp)?.reason ??
        (summary ? "no inspection received" : "round not finished");
      if (summary) findings.push({ type: "missed-checkpoint", checkpoint: cp, reason });
      return { checkpoint: cp, status: "missed", reason };
    }
    for (const c of i.checks.filter((c) => c.ok === false))
      findings.push({
        type: "violation",
        checkpoint: cp,
        check: c.id,
        checkType: c.type,
        expected: c.expected,
        seen: c.seen,
        ...(c.frameSha256 ? { frameSha256: c.frameSha256 } : {}),
        ...(reviewOf(cp, c.id) ? { review: reviewOf(cp, c.id) } : {}),
      });
    const notChecked = i.checks
      .filter((c) => c.ok === null)
      .map((c) => ({ check: c.id, reason: c.skipped ?? "not checked" }));
    return {
      checkpoint: cp,
      status: i.ok ? "ok" : "violations",
      arrivedAt: i.arrivedAt,
      readings: i.readings,
      checks: i.checks,
      ...(notChecked.length ? { notChecked } : {}),
    };
  });
  return {
    device,
    round,
    plan: summary?.plan ?? insp[0]!.body.plan,
    startedAt: summary?.startedAt ?? round * 1000,
    endedAt: summary?.endedAt ?? null,
    complete: summary !== undefined,
    checkpoints: rows,
    findings,
    counts: {
      planned: planned.length,
      inspected: last.size,
      violations: findings.filter((f) => f.type === "violation").length,
      missed: findings.filter((f) => f.type === "missed-checkpoint").length,
      notChecked: rows.reduce((n, r) => n + (r.notChecked?.length ?? 0), 0),
    },
    ...(summary?.battery !== undefined ? { battery: summary.battery } : {}),
  };
}

/** Per checkpoint: each numeric reading and meter value by round, oldest first. */
export async function checkpointTrend(ctx: CloudContext, device: string, checkpoint: string, limit = 200) {
  const insp = (await recordsOfKind<InspectionBody>(ctx, device, "inspection")).filter(
    (i) => i.body.checkpoint === checkpoint,
  );
  if (insp.length === 0)
    throw ERR_PATROL_NOT_FOUND(`robot '${device}' has no inspection of checkpoint '${checkpoint}'`);
  const series: Record<string, Array<{ round: number; t: number; value: number }>> = {};
  for (const i of insp.slice(-limit)) {
    const add = (name: string, value: number) => {
      series[name] ??= [];
      series[name].push({ round: i.body.round, t: i.body.arrivedAt, value });
    };
    for (const [k, v] of Object.entries(i.body.readings)) if (typeof v === "number") add(k, v);
    for (const c of i.body.checks) if (c.type === "meter" && c.ok !== null) add(c.id, Number(c.seen));
  }
  return {
    device,
    checkpoint,
    rounds: insp.length,
    series,
    failures: insp
      .filter((i) => !i.body.ok)
      .map((i) => ({ round: i.body.round, violations: i.body.violations })),
  };
}
