import { siloEstimate } from "../quality/silo-estimate.ts";
import type { GateResult, RecordRange } from "./decision-types.ts";
import { rangesOf } from "./evidence.ts";
import { selectEvidence } from "./evidence-set.ts";
import type { GateContext } from "./gate-context.ts";
import { unusable } from "./gates-d-e.ts";

const H = 3_600_000;
const r1 = (x: number) => Math.round(x * 10) / 10;

interface Order {
  seq: number;
  paidKg: number;
  releasedAt: number;
  deadline: number;
  ref: string | null;
}

type Verdict =
  | { seq: number; state: "confirmed" | "short"; paidKg: number; riseKg: number; text: string }
  | { seq: number; state: "missing" | "pending"; paidKg: number; riseKg: 0; text: string };

/**
 * (e) Each paid order's feed arrived: a silo rise within `deliveryDueHours` of its release, no more
 * than `deliveryTolerance` short of the kg paid (an over-delivery confirms it: the feed paid for is
 * there). Each order is judged against its own rise - rises are claimed oldest order first, the
 * supplier's declared delivery (ref = the order's EndToEndId) pinning which rise is whose - and
 * only by the tranches whose window its confirmation period overlaps. So one failed delivery holds
 * the tranche that judges it and is not carried into every later tranche; a tranche with no order
 * to judge (the previous one was held) passes this gate as not applicable.
 */
export function gateDelivery(ctx: GateContext): GateResult {
  const base = { gate: "e" as const, name: "deliveries confirmed by silo" };
  const dueMs = ctx.th.deliveryDueHours * H;
  const orders: Order[] = ctx.released
    .filter((t) => t.released_at !== null && Number(t.released_at) < ctx.asOf)
    .map((t) => ({
      seq: t.seq,
      paidKg: Number(t.released_kg),
      releasedAt: Number(t.released_at),
      deadline: Number(t.released_at) + dueMs,
      ref: t.endToEndId,
    }))
    .filter((o) => o.paidKg > 0)
    .sort((a, b) => a.releasedAt - b.releasedAt);
  const judged = orders.filter((o) => o.deadline > ctx.from);
  if (judged.length === 0) {
    return {
      ...base,
      pass: true,
      applicable: false,
      reason: "no paid order due for confirmation in this window",
      figures: {},
      cites: [],
    };
  }
  // Orders whose confirmation periods overlap the judged ones compete for the same rises.
  const first = judged[0]!.releasedAt - dueMs;
  const considered = orders.filter((o) => o.deadline > first);
  const from = considered[0]!.releasedAt;
  const q = {
    devices: ctx.devices,
    from,
    to: Math.max(ctx.to, ...judged.map((o) => Math.min(o.deadline, ctx.asOf))),
    asOf: ctx.asOf,
  };
  const silo = selectEvidence(ctx.evidence, { ...q, from: from - 6 * H, stream: "silo.weight" });
  const declared = selectEvidence(ctx.evidence, { ...q, kind: "delivery" });
  const cites: RecordRange[] = [...rangesOf(silo), ...rangesOf(declared)];
  const bad = unusable(ctx, "silo.weight");
  if (bad) {
    return {
      ...base,
      pass: false,
      applicable: true,
      reason: `${bad.message}: evidence unusable`,
      figures: { finding: bad.check },
      cites,
    };
  }
  const est = siloEstimate(silo, ctx.th.deliveryMinStepKg);
  // Two noisy ends of a step: allow twice the cell's noise on top of the tolerance.
  const slackKg = 2 * est.sigmaKg;
  const claimed = new Set<number>();
  const verdicts = new Map<number, Verdict>();
  for (const o of considered) {
    const note = o.ref ? declared.find((d) => d.body.ref === o.ref) : undefined;
    // A rise next to someone else's declared delivery (the farmer's own purchase) is not this order's.
    const others = declared.filter((d) => typeof d.body.ref === "string" && d.body.ref !== o.ref);
    const cands = est.rises
      .map((e, i) => ({ ...e, i }))
      .filter((e) => !claimed.has(e.i) && e.t >= o.releasedAt && e.t <= o.deadline)
      .filter((e) => note || !others.some((d) => Math.abs(d.t - e.t) <= 3 * H && d.t <= e.t + H));
    const pick = note
      ? cands.sort((a, b) => Math.abs(a.t - note.t) - Math.abs(b.t - note.t))[0]
      : cands.sort((a, b) => Math.abs(a.kg - o.paidKg) - Math.abs(b.kg - o.paidKg))[0];
    const who = `the ${o.paidKg} kg paid in tranche ${o.seq}`;
    if (!pick) {
      const late = o.deadline <= ctx.asOf;
      const declaredKg = note && typeof note.body.kg === "number" ? note.body.kg : null;
      verdicts.set(o.seq, {
        seq: o.seq,
        state: late ? "missing" : "pending",
        paidKg: o.paidKg,
        riseKg: 0,
        text: late
          ? `no silo rise within ${ctx.th.deliveryDueHours} h for ${who}${declaredKg !== null ? ` (supplier declared ${declaredKg} kg)` : ": supplier delivery missing"}`
          : `${who} not delivered yet (due within ${ctx.th.deliveryDueHours} h of release)`,
      });
      continue;
    }
    claimed.add(pick.i);
    const shortKg = o.paidKg - pick.kg;
    // Compared at the 0.1 kg the readings carry, so "10.0% short, allowed 10%" passes.
    const ok = Math.round(shortKg * 10) <= Math.round((ctx.th.deliveryTolerance * o.paidKg + slackKg) * 10);
    const pct = r1((Math.abs(shortKg) / o.paidKg) * 100);
    const tol = `allowed ${Math.round(ctx.th.deliveryTolerance * 1000) / 10}%`;
    verdicts.set(o.seq, {
      seq: o.seq,
      state: ok ? "confirmed" : "short",
      paidKg: o.paidKg,
      riseKg: r1(pick.kg),
      text:
        shortKg <= 0
          ? `silo rose ${r1(pick.kg)} kg for ${who} (${pct}% more than paid)`
          : `silo rose ${r1(pick.kg)} kg for ${who} (${pct}% short, ${tol})${ok ? "" : ": supplier delivered short"}`,
    });
  }
  const mine = judged.map((o) => verdicts.get(o.seq)!);
  const failed = mine.filter((v) => v.state === "short" || v.state === "missing");
  const last = mine.at(-1)!;
  return {
    ...base,
    pass: failed.length === 0,
    applicable: true,
    reason: (failed.length ? failed : mine).map((v) => v.text).join("; "),
    figures: {
      orders: mine.map((v) => v.seq).join(","),
      confirmed: mine.filter((v) => v.state === "confirmed").length,
      pending: mine.filter((v) => v.state === "pending").length,
      paidKg: last.paidKg,
      siloRiseKg: last.riseKg,
      declaredKg: r1(declared.reduce((s, r) => s + (typeof r.body.kg === "number" ? r.body.kg : 0), 0)),
      riseEvents: est.rises.length,
      siloNoiseKg: r1(est.sigmaKg),
    },
    cites,
  };
}
