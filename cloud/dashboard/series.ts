import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { valueHistory } from "../api/value-history.ts";
import type { CloudContext } from "../context.ts";
import { at, bandAt, ENV_STREAMS, intakePerHead, loadProfile, survival } from "../lending/profile.ts";

const DAY = 86_400_000;
type Pt = [number, number];

/** Averages points into at most `n` time buckets, so a 110-day batch of 5-minute readings stays a small payload. */
export function downsample(points: Pt[], n: number): Pt[] {
  if (points.length <= n) return points;
  const t0 = points[0]![0];
  const span = points[points.length - 1]![0] - t0 || 1;
  const sums = new Map<number, [number, number, number]>();
  for (const [t, v] of points) {
    const k = Math.min(n - 1, Math.floor(((t - t0) / span) * n));
    const s = sums.get(k) ?? [0, 0, 0];
    s[0] += t;
    s[1] += v;
    s[2]++;
    sums.set(k, s);
  }
  return [...sums.values()].map(([t, v, c]) => [Math.round(t / c), Math.round((v / c) * 100) / 100]);
}

async function readingSeries(
  ctx: CloudContext,
  devices: string[],
  stream: string,
  to: number,
): Promise<Pt[]> {
  // Reading streams and the values of Modbus block records alike (cloud/api/value-history.ts).
  return (await valueHistory(ctx.db, devices, stream, { to })).map((p): Pt => [p.t, p.value]);
}

/**
 * Time series for a batch page: head count (census vs expected after normal mortality), collateral
 * value vs outstanding, environment with the species bands, feed eaten per day vs plan, and silo
 * stock with deliveries. Read-only queries on `records` and the lending tables.
 */
export async function batchSeries(ctx: CloudContext, batchId: string, points = 240) {
  const db = ctx.db.kysely;
  const b = await db.selectFrom("lending_batches").selectAll().where("id", "=", batchId).executeTakeFirst();
  if (!b) throw ERR_NOT_FOUND(`no batch ${batchId}`);
  const p = loadProfile(b.species);
  const devices = JSON.parse(b.devices) as string[];
  const placed = Number(b.placed_at);
  const now = ctx.now();
  const from = placed - DAY;
  const end = Math.max(from + DAY, now);
  const ageOf = (t: number) => Math.max(0, (t - placed) / DAY);
  const grid = Array.from({ length: 80 }, (_, i) => from + ((end - from) * i) / 79);

  const census: Pt[] = [];
  if (devices.length) {
    const rows = await db
      .selectFrom("records")
      .select(["t_wall", "body"])
      .where("device", "in", devices)
      .where("kind", "=", "census")
      .orderBy("t_wall")
      .execute();
    for (const r of rows) {
      const c = JSON.parse(r.body) as { barn?: string; count?: number };
      if (c.barn === b.barn && typeof c.count === "number") census.push([Number(r.t_wall), c.count]);
    }
  }
  const expected: Pt[] = grid.map((t) => [t, Math.round(Number(b.head_placed) * survival(p, ageOf(t)))]);

  const silo = await readingSeries(ctx, devices, "silo.weight", end);
  const headAt = (t: number) => {
    let h = Math.round(Number(b.head_placed) * survival(p, ageOf(t)));
    for (const [ct, c] of census) if (ct <= t) h = c;
    return h;
  };
  const siloAt = (t: number) => {
    let v = 0;
    for (const [st, kg] of silo) {
      if (st > t) break;
      v = kg;
    }
    return v;
  };
  // Outstanding = principal + interest + fees booked for this batch, cumulated over postings.
  const entries = await db
    .selectFrom("lending_ledger_entries as e")
    .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
    .select(["t.posted_at", "e.amount_fen"])
    .where("t.batch_id", "=", batchId)
    .where("e.account", "in", ["loan_principal", "interest_receivable", "fee_receivable"])
    .orderBy("t.posted_at")
    .execute();
  const outstandingAt = (t: number) =>
    entries.filter((e) => Number(e.posted_at) <= t).reduce((n, e) => n + Number(e.amount_fen), 0);
  const collateral = grid.map((t) => {
    const herd = headAt(t) * at(p.weightKg, ageOf(t)) * Number(b.live_price_fen_per_kg);
    const feed = siloAt(t) * Number(b.feed_price_fen_per_kg);
    return [t, Math.round(herd + feed), outstandingAt(t)] as [number, number, number];
  });

  const env: Record<string, { unit: string; points: Pt[]; band: Array<[number, number, number]> }> = {};
  for (const [key, stream] of Object.entries(ENV_STREAMS)) {
    const spec = p.env[key as keyof typeof ENV_STREAMS];
    if (!spec) continue;
    env[key] = {
      unit: spec.unit,
      points: downsample(await readingSeries(ctx, devices, stream, end), points),
      band: grid.map((t) => [t, ...bandAt(spec.bands, ageOf(t))]),
    };
  }

  // Feed eaten per day = the silo's falls (rises are deliveries); plan = expected head × intake.
  const eaten = new Map<number, number>();
  for (let i = 1; i < silo.length; i++) {
    const drop = silo[i - 1]![1] - silo[i]![1];
    if (drop <= 0) continue;
    const d = Math.floor(ageOf(silo[i]![0]));
    if (silo[i]![0] >= placed) eaten.set(d, (eaten.get(d) ?? 0) + drop);
  }
  const lastDay = Math.floor(ageOf(end));
  const feed = Array.from({ length: lastDay + 1 }, (_, d) => ({
    day: d,
    t: placed + d * DAY,
    eatenKg: Math.round(eaten.get(d) ?? 0),
    planKg: Math.round(Number(b.head_placed) * survival(p, d + 0.5) * intakePerHead(p, d, d + 1)),
  }));
  const deliveries: Pt[] = [];
  if (devices.length) {
    for (const r of await db
      .selectFrom("records")
      .select(["t_wall", "body"])
      .where("device", "in", devices)
      .where("kind", "=", "delivery")
      .orderBy("t_wall")
      .execute())
      deliveries.push([Number(r.t_wall), Number((JSON.parse(r.body) as { kg: number }).kg)]);
  }
  return {
    batchId,
    from,
    to: end,
    placedAt: placed,
    head: { census, expected },
    collateral,
    env,
    feed: { daily: feed, silo: downsample(silo, points), deliveries },
  };
}
