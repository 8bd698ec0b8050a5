import { siloEstimate } from "../quality/silo-estimate.ts";
import type { Finding } from "../quality/types.ts";
import type { GateResult } from "./decision-types.ts";
import { rangesOf } from "./evidence.ts";
import { selectEvidence } from "./evidence-set.ts";
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

/** The first finding that makes a subject's evidence unusable, if any. */
export function unusable(ctx: GateContext, subject: string): Finding | undefined {
  return ctx.findings.find((f) => f.unusable && f.subject === subject);
}

/**
 * (d) Feed eaten, read from the silo: first weight − last weight + deliveries (rises) in the window,
 * against the intake the profile expects for the verified herd, on the noise-robust silo estimate
 * (cloud/quality/silo-estimate.ts). A silo that falls too slowly means the feed paid for is not
 * being eaten by this herd (resold, or the herd is smaller than claimed) - unless the load cell
 * itself is at fault, which the quality findings say and the reason names.
 */
export function gateFeedUse(ctx: GateContext, head: number): GateResult {
  const rows = selectEvidence(ctx.evidence, {
    devices: ctx.devices,
    from: ctx.from,
    to: ctx.to,
    asOf: ctx.asOf,
    stream: "silo.weight",
  });
  const est = siloEstimate(rows, ctx.th.deliveryMinStepKg);
  const vals = est.points;
  // Compare over the span the readings cover: a silent barn is gate (a)'s finding, not feed misuse.
  const span = vals.length >= 2 ? [vals[0]!.t, vals.at(-1)!.t] : [ctx.from, Math.min(ctx.to, ctx.asOf)];
  const expected = expectedIntakeKg(ctx, head, span[0]!, span[1]!);
  const base = { gate: "d" as const, name: "feed use consistent with plan", cites: rangesOf(rows) };
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
  const bad = unusable(ctx, "silo.weight");
  if (bad) {
    return {
      ...base,
      pass: false,
      applicable: true,
      reason: `${bad.message}: evidence unusable`,
      figures: { expectedKg: r1(expected), finding: bad.check },
    };
  }
  if (vals.length < 2) {
    return {
      ...base,
      pass: false,
      applicable: true,
      reason: "no silo weight readings in the window",
      figures: { expectedKg: r1(expected), missing: true },
    };
  }
  const rises = est.rises.reduce((s, e) => s + e.kg, 0);
  const eaten = est.fallKg;
  const ratio = eaten / expected;
  const pass = ratio >= ctx.th.feedUseMin && ratio <= ctx.th.feedUseMax;
  const pct = Math.round(ratio * 100);
  const noisy = est.sigmaKg > 3 ? ` (load cell noise ±${r1(est.sigmaKg)} kg filtered out)` : "";
  return {
    ...base,
    pass,
    applicable: true,
    reason: pass
      ? `silo fell ${r1(eaten)} kg, ${pct}% of the ${r1(expected)} kg the herd should eat${noisy}`
      : `silo fell ${r1(eaten)} kg but ${head} head should eat ${r1(expected)} kg (${pct}%, allowed ${ctx.th.feedUseMin * 100}–${ctx.th.feedUseMax * 100}%): ${ratio < ctx.th.feedUseMin ? "feed is not being eaten by this herd" : "more feed left the silo than this herd eats"}${noisy}`,
    figures: {
      eatenKg: r1(eaten),
      expectedKg: r1(expected),
      ratio: Math.round(ratio * 1000) / 1000,
      deliveredKgInWindow: r1(rises),
      siloNoiseKg: r1(est.sigmaKg),
      head,
    },
  };
}

export { gateDelivery } from "./gate-delivery.ts";
