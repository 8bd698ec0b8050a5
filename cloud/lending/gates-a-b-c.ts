import { herdMoves } from "../quality/herd.ts";
import type { GateResult } from "./decision-types.ts";
import { hours, rangesOf } from "./evidence.ts";
import { selectEvidence } from "./evidence-set.ts";
import { ageDays, type GateContext } from "./gate-context.ts";
import { bandAt, ENV_STREAMS } from "./profile.ts";

const H = 3_600_000;

/** (a) Every batch device reporting, its chains intact, no evicted ranges and no long silence in the window. */
export function gateDevices(ctx: GateContext): GateResult {
  const rows = selectEvidence(ctx.evidence, {
    devices: ctx.devices,
    from: ctx.from,
    to: ctx.to,
    asOf: ctx.asOf,
  });
  const devices = new Set(ctx.devices);
  const streams = ctx.evidence.streams.filter((s) => devices.has(s.device));
  const gaps = ctx.evidence.gaps.filter(
    (g) => devices.has(g.device) && Number(g.received_at) >= ctx.from && Number(g.received_at) <= ctx.asOf,
  );
  const problems: string[] = [];
  // Problems a later arrival of evidence can clear (silence, clock not synced) vs faults it cannot.
  let lasting = 0;
  let worstSilence = 0;
  for (const dev of ctx.devices) {
    const own = streams.filter((s) => s.device === dev);
    const seen = Math.max(0, ...own.map((s) => Number(s.last_seen ?? 0)));
    const clock = ctx.findings.find((f) => f.check === "clock" && f.pending && f.device === dev);
    if (own.length === 0) problems.push(`${dev} has never reported`);
    else if (ctx.asOf - seen > ctx.th.staleHours * H)
      problems.push(`${dev} last reported ${hours(ctx.asOf - seen)} h ago (allowed ${ctx.th.staleHours} h)`);
    for (const s of own.filter((x) => Number(x.chain_ok) !== 1)) {
      lasting++;
      problems.push(`${dev}/${s.stream} hash chain broken${s.chain_error ? `: ${s.chain_error}` : ""}`);
    }
    const lost = gaps.filter((g) => g.device === dev).reduce((n, g) => n + Number(g.count), 0);
    if (lost > 0) {
      lasting++;
      problems.push(`${dev} evicted ${lost} records in the window`);
    }
    const times = rows.filter((r) => r.device === dev).map((r) => r.t);
    const edges = [ctx.from, ...times, Math.min(ctx.to, ctx.asOf)];
    let silence = 0;
    for (let i = 1; i < edges.length; i++) silence = Math.max(silence, edges[i]! - edges[i - 1]!);
    worstSilence = Math.max(worstSilence, silence);
    // Records received but stamped before the clock synced are not silence: they wait to be placed.
    if (silence > ctx.th.maxSilenceHours * H && clock)
      problems.push(`${clock.message}: evidence not yet placeable, decision waits for it`);
    else if (silence > ctx.th.maxSilenceHours * H)
      problems.push(
        `${dev} was silent for ${hours(silence)} h in the window (allowed ${ctx.th.maxSilenceHours} h)`,
      );
  }
  return {
    gate: "a",
    name: "devices reporting, chains intact",
    pass: problems.length === 0,
    applicable: true,
    reason: problems.length ? problems.join("; ") : `${ctx.devices.length} devices reporting, chains intact`,
    figures: {
      devices: ctx.devices.length,
      records: rows.length,
      longestSilenceHours: hours(worstSilence),
      gapsInWindow: gaps.length,
      ...(problems.length && lasting === 0 ? { missing: true } : {}),
    },
    cites: rangesOf(rows),
  };
}

/** (b) The latest verified census against the head count the tranche was planned for. */
export function gateHeadCount(ctx: GateContext): GateResult & { verified: number | null } {
  const rows = selectEvidence(ctx.evidence, {
    devices: ctx.devices,
    from: ctx.from,
    to: ctx.to,
    asOf: ctx.asOf,
    kind: "census",
  });
  const latest = rows.filter((r) => r.body.barn === ctx.batch.barn || r.body.barn === undefined).at(-1);
  const expected = Number(ctx.tranche.planned_head);
  const base = {
    gate: "b" as const,
    name: "verified head count",
    applicable: true,
    cites: rangesOf(latest ? [latest] : []),
  };
  if (!latest) {
    return {
      ...base,
      pass: false,
      verified: null,
      reason: "no census of the barn in the window",
      figures: { expected, missing: true },
    };
  }
  const bad = ctx.findings.find((f) => f.unusable && f.subject === "census");
  if (bad) {
    // Neither a release nor a re-plan on a census the analysis flags: the count is not evidence.
    return {
      ...base,
      pass: false,
      verified: null,
      reason: `${bad.message}: evidence unusable`,
      figures: { expected, finding: bad.check },
      cites: bad.cites,
    };
  }
  const verified = Number(latest.body.count);
  const ratio = expected > 0 ? verified / expected : 0;
  const pct = Math.round(ratio * 1000) / 10;
  return {
    ...base,
    pass: ratio >= ctx.th.headPass,
    verified,
    reason: `census counted ${verified} of ${expected} expected (${pct}%, full release needs ≥ ${ctx.th.headPass * 100}%, hold below ${ctx.th.headHold * 100}%)${soldNote(ctx)}`,
    figures: {
      verified,
      expected,
      ratio: Math.round(ratio * 10000) / 10000,
      method: String(latest.body.method),
    },
  };
}

/** (c) Share of environment readings inside the species band for the animals' age, per stream. */
export function gateEnvironment(ctx: GateContext): GateResult {
  const figures: Record<string, number> = {};
  const fails: string[] = [];
  let missing = 0;
  const cites = [];
  for (const [key, spec] of Object.entries(ctx.profile.env)) {
    const stream = ENV_STREAMS[key as keyof typeof ENV_STREAMS];
    const rows = selectEvidence(ctx.evidence, {
      devices: ctx.devices,
      from: ctx.from,
      to: ctx.to,
      asOf: ctx.asOf,
      stream,
    });
    let inBand = 0;
    let n = 0;
    let worst = Number.NaN;
    for (const r of rows) {
      const v = r.body.value;
      if (typeof v !== "number") continue;
      n++;
      const [lo, hi] = bandAt(spec.bands, Math.max(0, ageDays(ctx, r.t)));
      if (v >= lo && v <= hi) inBand++;
      else if (!(Math.abs(v - (lo + hi) / 2) <= Math.abs(worst - (lo + hi) / 2))) worst = v;
    }
    const share = n ? inBand / n : 0;
    figures[`${key}.inBandShare`] = Math.round(share * 1000) / 1000;
    figures[`${key}.readings`] = n;
    if (!Number.isNaN(worst)) figures[`${key}.worst`] = worst;
    const bad = ctx.findings.find((f) => f.unusable && f.subject === stream);
    if (n === 0) {
      missing++;
      fails.push(`no ${key} readings`);
    } else if (bad) fails.push(`${bad.message}: evidence unusable`);
    else if (share < ctx.th.envShare)
      fails.push(
        `${key} within band ${Math.round(share * 100)}% of readings (needs ≥ ${ctx.th.envShare * 100}%; worst ${worst} ${spec.unit})`,
      );
    cites.push(...rangesOf(rows));
  }
  return {
    gate: "c",
    name: "environment within species bands",
    pass: fails.length === 0,
    applicable: true,
    reason: fails.length ? fails.join("; ") : "temperature, humidity and ammonia within bands",
    figures: fails.length && missing === fails.length ? { ...figures, missing: true } : figures,
    cites,
  };
}

/** Recorded sales since placement: a smaller census after a sale is the sale, not mortality. */
function soldNote(ctx: GateContext): string {
  const events = selectEvidence(ctx.evidence, {
    devices: ctx.devices,
    from: Number(ctx.batch.placed_at),
    to: ctx.to,
    asOf: ctx.asOf,
    kind: "event",
  });
  const { sold } = herdMoves(events, ctx.to);
  return sold > 0 ? `; ${sold} head sold on record since placement` : "";
}
