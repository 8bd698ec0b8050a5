import { citesOf, num } from "../cite.ts";
import { sensorName } from "../describe.ts";
import type { AirSpec } from "../params.ts";
import { median } from "../stats.ts";
import type { Check, Finding, QRow } from "../types.ts";

const H = 3_600_000;

/** Grams of water per m³ of air at `t` °C and `rh` % (Magnus formula; ±1% from −30 to 50 °C). */
export function absoluteHumidity(t: number, rh: number): number {
  const es = 6.112 * Math.exp((17.67 * t) / (t + 243.5));
  return (es * rh * 2.1674) / (273.15 + t);
}

interface Pt {
  t: number;
  v: number;
  r: QRow;
}
const pts = (rows: QRow[] | undefined): Pt[] =>
  (rows ?? []).flatMap((r) => (num(r) === null ? [] : [{ t: r.t, v: num(r)!, r }]));
const between = (xs: Pt[], a: number, b: number) => xs.filter((x) => x.t >= a && x.t < b);

/**
 * Temperature vs humidity vs ammonia: the three sensors measure one body of air, so they move
 * together. Two tests, each needing only what the barn does anyway:
 *
 * - **Airings.** When the barn is aired (temperature falls by `airingDropC` within an hour against
 *   the 3 h before) fresh air dilutes ammonia, which has no outdoor source: ammonia must fall too.
 *   An ammonia sensor that does not respond at most airings is reporting something other than the
 *   barn's air (a fixed value with noise, another barn's file, a dead sensor still sending).
 * - **Absolute humidity.** Relative humidity and temperature give the water in the air (g/m³), which
 *   changes only when air is exchanged or the animals breathe it in over hours: a jump of more than
 *   `ahJumpShare` within an hour while temperature stays steady has no physical cause (a broken
 *   or fabricated humidity sensor).
 *
 * Sensor noise is allowed for: an airing is judged against medians, and a few jumps are tolerated
 * (`ahJumpMin`, `ahJumpRate`). What it cannot see: a barn never aired in the window (no airings, no
 * ammonia verdict), a fabricated humidity that is smooth and plausible (the smooth check's case).
 */
export const airCoherence: Check = {
  id: "air-coherence",
  title: "temperature, humidity and ammonia inconsistent",
  run(q, p) {
    const out: Finding[] = [];
    const a = p.air;
    for (const device of q.devices) {
      const temp = pts(q.readings.get(`${device}\0env.temperature`)).filter((x) => x.t >= q.from);
      if (temp.length < 24) continue;
      const nh3 = pts(q.readings.get(`${device}\0env.ammonia`)).filter((x) => x.t >= q.from - 4 * H);
      const rh = pts(q.readings.get(`${device}\0env.humidity`)).filter((x) => x.t >= q.from);
      const airings = findAirings(temp, a);
      if (nh3.length >= 24) {
        const f = ammoniaAtAirings(device, airings, nh3, a);
        if (f) out.push(f);
      }
      if (rh.length >= 24) {
        const f = humidityJumps(device, temp, rh, a);
        if (f) out.push(f);
      }
    }
    return out;
  },
};

/** Times at which the temperature fell by airingDropC within an hour, 3 h apart at least. */
function findAirings(temp: Pt[], a: AirSpec): Array<{ t: number; drop: number; rows: QRow[] }> {
  const out: Array<{ t: number; drop: number; rows: QRow[] }> = [];
  for (const x of temp) {
    if (out.length && x.t - out.at(-1)!.t < 3 * H) continue;
    const before = between(temp, x.t - 3.5 * H, x.t - 0.5 * H);
    if (before.length < 2) continue;
    const drop = median(before.map((b) => b.v)) - x.v;
    if (drop >= a.airingDropC) out.push({ t: x.t, drop, rows: [...before.map((b) => b.r), x.r] });
  }
  return out;
}

function ammoniaAtAirings(
  device: string,
  airings: ReturnType<typeof findAirings>,
  nh3: Pt[],
  a: AirSpec,
): Finding | undefined {
  let judged = 0;
  let fell = 0;
  const cited: QRow[] = [];
  for (const air of airings) {
    const before = between(nh3, air.t - 3.5 * H, air.t - 0.5 * H);
    const after = between(nh3, air.t - 0.5 * H, air.t + 1.5 * H);
    if (before.length < 2 || after.length < 1) continue;
    const b = median(before.map((x) => x.v));
    if (b < a.ammoniaMinPpm) continue;
    judged++;
    const need = Math.max(a.ammoniaFallPpm, a.ammoniaFallShare * b);
    if (b - Math.min(...after.map((x) => x.v)) >= need) fell++;
    else cited.push(...air.rows, ...before.map((x) => x.r), ...after.map((x) => x.r));
  }
  if (judged < a.minAirings || fell / judged >= a.responseMin) return undefined;
  const stream = "env.ammonia";
  return {
    check: "air-coherence",
    severity: "critical",
    device,
    subject: stream,
    unusable: true,
    message: `${sensorName(stream)} ${stream} on ${device} did not fall at ${judged - fell} of ${judged} airings (temperature fell ≥ ${a.airingDropC} °C; fresh air always dilutes ammonia): not measuring the barn's air`,
    fromT: airings[0]!.t,
    toT: airings.at(-1)!.t,
    figures: { airings: judged, responded: fell, responseMin: a.responseMin },
    cites: citesOf([...new Set(cited)]),
  };
}

function humidityJumps(device: string, temp: Pt[], rh: Pt[], a: AirSpec): Finding | undefined {
  const byHour = new Map<number, Pt>();
  for (const x of temp) byHour.set(Math.round(x.t / H), x);
  const ah: Array<{ t: number; ah: number; temp: Pt; rh: Pt }> = [];
  for (const x of rh) {
    const t = byHour.get(Math.round(x.t / H));
    if (t && x.v > 0) ah.push({ t: x.t, ah: absoluteHumidity(t.v, x.v), temp: t, rh: x });
  }
  let pairs = 0;
  const jumps: Array<(typeof ah)[number]> = [];
  const cited: QRow[] = [];
  for (let i = 1; i < ah.length; i++) {
    const [p0, p1] = [ah[i - 1]!, ah[i]!];
    if (p1.t - p0.t > 1.5 * H) continue;
    pairs++;
    if (Math.abs(p1.temp.v - p0.temp.v) >= a.steadyC) continue;
    if (Math.abs(p1.ah - p0.ah) / Math.min(p0.ah, p1.ah) > a.ahJumpShare) {
      jumps.push(p1);
      cited.push(p0.rh.r, p1.rh.r, p0.temp.r, p1.temp.r);
    }
  }
  if (jumps.length < a.ahJumpMin || jumps.length < a.ahJumpRate * pairs) return undefined;
  const stream = "env.humidity";
  return {
    check: "air-coherence",
    severity: "critical",
    device,
    subject: stream,
    unusable: true,
    message: `${sensorName(stream)} ${stream} on ${device}: the water in the air jumped by more than ${Math.round(a.ahJumpShare * 100)}% within an hour ${jumps.length} times while the temperature stayed steady (no physical cause): humidity inconsistent with temperature`,
    fromT: jumps[0]!.t,
    toT: jumps.at(-1)!.t,
    figures: { jumps: jumps.length, pairs, ahJumpShare: a.ahJumpShare },
    cites: citesOf([...new Set(cited)]),
  };
}
