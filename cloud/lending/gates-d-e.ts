import type { GateResult } from "./decision-types.ts";
import { numericValue, rangesOf, readEvidence, riseEvents } from "./evidence.ts";
import { ageDays, type GateContext } from "./gate-context.ts";
import { at } from "./profile.ts";

const H = 3_600_000;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Expected feed eaten by `head` animals between two times: the intake curve integrated hourly. */
export function expectedIntakeKg(ctx: GateContext, head: number, from: number, to: number): number {
  let kg = 0;
  for (let t = Math.max(from, Number(ctx.batch.placed_at)); t < to; t += H) {
    const step = Math.min(H, to - t);
    kg += (at(ctx.profile.feedIntakeKg, ageDays(ctx, t + step / 2)) * head * step) / (24 * H);
  }
  return kg;
}

/**
 * (d) Feed eaten, read from the silo: first weight − last weight + deliveries (rises) in the window,
 * against the intake the profile expects for the verified herd. A silo that falls too slowly means
 * the feed paid for is not being eaten by this herd (resold, or the herd is smaller than claimed).
 */
export async function gateFeedUse(ctx: GateContext, head: number): Promise<GateResult> {
  const rows = await readEvidence(ctx.db, {
    devices: ctx.devices,
    from: ctx.from,
    to: ctx.to,
    asOf: ctx.asOf,
    stream: "silo.weight",
  });
  const vals = rows.filter((r) => numericValue(r) !== null);
  // Compare over the span the readings cover: a silent barn is gate (a)'s finding, not feed misuse.
  const span = vals.length >= 2 ? [vals[0]!.t, vals.at(-1)!.t] : [ctx.from, Math.min(ctx.to, ctx.asOf)];
  const expected = expectedIntakeKg(ctx, head, span[0]!, span[1]!);
  const base = { gate: "d" as const, name: "feed use consistent with plan", cites: rangesOf(vals) };
  // Too little feed due to judge: below one delivery step, or under a quarter-day of the herd's
  // intake (a window that only just reaches past placement), the silo's resolution and the timing
  // of the last reading swamp the comparison.
  const quarterDay = ctx.profile.feedIntakeKg.length
    ? (at(ctx.profile.feedIntakeKg, Math.max(0, ageDays(ctx, span[1]!))) * head) / 4
    : 0;
  if (expected < Math.max(1, ctx.th.deliveryMinStepKg, quarterDay)) {
    return {
      ...base,
      pass: true,
      applicable: false,
      reason:
        expected < 1
          ? "no herd in the barn during the window yet"
          : `too little feed due in the window (${r1(expected)} kg) to judge`,
      figures: { expectedKg: 0 },
    };
  }
  if (vals.length < 2) {
    return {
      ...base,
      pass: false,
      applicable: true,
      reason: "no silo weight readings in the window",
      figures: { expectedKg: r1(expected) },
    };
  }
  const rises = riseEvents(vals, ctx.th.deliveryMinStepKg).reduce((s, e) => s + e.kg, 0);
  const eaten = numericValue(vals[0]!)! - numericValue(vals.at(-1)!)! + rises;
  const ratio = eaten / expected;
  const pass = ratio >= ctx.th.feedUseMin && ratio <= ctx.th.feedUseMax;
  const pct = Math.round(ratio * 100);
  return {
    ...base,
    pass,
    applicable: true,
    reason: pass
      ? `silo fell ${r1(eaten)} kg, ${pct}% of the ${r1(expected)} kg the herd should eat`
      : `silo fell ${r1(eaten)} kg but ${head} head should eat ${r1(expected)} kg (${pct}%, allowed ${ctx.th.feedUseMin * 100}–${ctx.th.feedUseMax * 100}%): feed is not being eaten by this herd`,
    figures: {
      eatenKg: r1(eaten),
      expectedKg: r1(expected),
      ratio: Math.round(ratio * 1000) / 1000,
      deliveredKgInWindow: r1(rises),
      head,
    },
  };
}

/** (e) The previous release's feed arrived: a silo rise within tolerance of the kg paid for. */
export async function gateDelivery(ctx: GateContext): Promise<GateResult> {
  const prev = ctx.prevReleased;
  const base = { gate: "e" as const, name: "previous delivery confirmed by silo" };
  if (!prev || prev.released_at === null) {
    return {
      ...base,
      pass: true,
      applicable: false,
      reason: "no previous release to confirm",
      figures: {},
      cites: [],
    };
  }
  const from = Number(prev.released_at);
  const silo = await readEvidence(ctx.db, {
    devices: ctx.devices,
    from,
    to: ctx.to,
    asOf: ctx.asOf,
    stream: "silo.weight",
  });
  const declared = await readEvidence(ctx.db, {
    devices: ctx.devices,
    from,
    to: ctx.to,
    asOf: ctx.asOf,
    kind: "delivery",
  });
  const paidKg = Number(prev.released_kg);
  const events = riseEvents(silo, ctx.th.deliveryMinStepKg);
  const best = events.reduce<{ t: number; kg: number } | undefined>(
    (b, e) => (!b || Math.abs(e.kg - paidKg) < Math.abs(b.kg - paidKg) ? e : b),
    undefined,
  );
  const off = best ? Math.abs(best.kg - paidKg) / paidKg : 1;
  const pass = off <= ctx.th.deliveryTolerance;
  const declaredKg = declared.reduce((s, r) => s + (typeof r.body.kg === "number" ? r.body.kg : 0), 0);
  return {
    ...base,
    pass,
    applicable: true,
    reason: best
      ? `silo rose ${r1(best.kg)} kg for the ${paidKg} kg paid in tranche ${prev.seq} (${Math.round(off * 100)}% off, allowed ${ctx.th.deliveryTolerance * 100}%)`
      : `no silo rise found for the ${paidKg} kg paid in tranche ${prev.seq}`,
    figures: {
      paidKg,
      siloRiseKg: best ? r1(best.kg) : 0,
      declaredKg: r1(declaredKg),
      riseEvents: events.length,
    },
    cites: [...rangesOf(silo), ...rangesOf(declared)],
  };
}
