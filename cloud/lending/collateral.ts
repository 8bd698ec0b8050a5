import { type Kysely, type Selectable, sql } from "kysely";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { blockLike, blockValue } from "../quality/block-values.ts";
import { herdMoves } from "../quality/herd.ts";
import { mortalitySeverity } from "./alert-severity.ts";
import { raiseAlert, raiseEvidenceDemand } from "./alerts.ts";
import { ACT360_DENOM } from "./interest.ts";
import { type Account, emptyBalances } from "./ledger.ts";
import { at, loadProfile, survival } from "./profile.ts";
import { parseServicing } from "./servicing-terms.ts";
import { parseThresholds } from "./thresholds.ts";

const DAY = 86_400_000;

export interface Collateral {
  batchId: string;
  ageDays: number;
  head: number;
  headSource: "census" | "plan";
  weightKg: number;
  /** The live price used: the facility's price series as known at the time, else the batch's own. */
  livePriceFenPerKg: number;
  priceSource: string;
  herdValueFen: number;
  feedStockKg: number;
  feedStockFen: number;
  outstandingFen: number;
  ltv: number | null;
}

/** A batch row as `selectAll` returns it. */
type BatchRow = Selectable<DB["lending_batches"]>;

/** `in` lists in slices, so a fleet of devices never exceeds a statement's parameter limit. */
function slices<T>(xs: T[], n = 5000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * The newest `limit` records per device with `col` = `value` (a stream or a kind), captured and
 * received by `atMs` (what the cloud knew then): one query for all devices, newest first each.
 */
async function newestPerDevice(
  ctx: CloudContext,
  devices: string[],
  col: "stream" | "kind",
  value: string,
  atMs: number,
  limit: number,
): Promise<Map<string, Array<{ t: number; body: unknown }>>> {
  const out = new Map<string, Array<{ t: number; body: unknown }>>();
  for (const part of slices(devices)) {
    const rows = await sql<{ device: string; t_wall: string | number; body: string }>`
      select device, t_wall, body from (
        select device, t_wall, body, row_number() over (partition by device order by t_wall desc) as rn
        from records
        where device in (${sql.join(part)}) and ${sql.ref(col)} = ${value}
          and t_wall <= ${atMs} and received_at <= ${atMs}
      ) newest where rn <= ${limit}`.execute(ctx.db.kysely);
    for (const r of rows.rows) {
      const list = out.get(r.device) ?? [];
      list.push({ t: Number(r.t_wall), body: JSON.parse(r.body) });
      out.set(r.device, list);
    }
  }
  return out;
}

/**
 * The newest value of sensor `name` per device, from its `reading` stream or from a `block` record
 * holding it (a Modbus register block: quality/block-values.ts), as `{ value }` bodies, newest first.
 */
async function newestValuePerDevice(
  ctx: CloudContext,
  devices: string[],
  name: string,
  atMs: number,
): Promise<Map<string, Array<{ t: number; body: unknown }>>> {
  const out = await newestPerDevice(ctx, devices, "stream", name, atMs, 1);
  for (const part of slices(devices)) {
    const rows = await sql<{ device: string; t_wall: string | number; body: string }>`
      select device, t_wall, body from (
        select device, t_wall, body, row_number() over (partition by device order by t_wall desc) as rn
        from records
        where device in (${sql.join(part)}) and kind = 'block' and body like ${blockLike(name)}
          and t_wall <= ${atMs} and received_at <= ${atMs}
      ) newest where rn <= 1`.execute(ctx.db.kysely);
    for (const r of rows.rows) {
      const v = blockValue(JSON.parse(r.body) as Record<string, unknown>, name);
      if (!v) continue;
      const t = Number(r.t_wall);
      const have = out.get(r.device)?.[0];
      if (!have || have.t < t) out.set(r.device, [{ t, body: { value: v.value, unit: v.unit } }]);
    }
  }
  return out;
}

/** The newest `limit` of a batch's devices' records (the union of each device's newest), newest first. */
function newestOf(per: Map<string, Array<{ t: number; body: unknown }>>, devices: string[], limit: number) {
  return devices
    .flatMap((d) => per.get(d) ?? [])
    .sort((a, b) => b.t - a.t)
    .slice(0, limit)
    .map((r) => r.body);
}

/** The latest silo weight of the batch's devices (feed the loan paid for, still in the barn). */
function siloKg(bodies: unknown[]): number {
  const v = (bodies[0] as { value?: unknown } | undefined)?.value;
  return typeof v === "number" && v > 0 ? v : 0;
}

/** The latest census count of the batch's barn, if any (among the 5 newest census records). */
function censusOf(bodies: unknown[], barn: string): number | null {
  for (const body of bodies) {
    const b = body as { barn?: string; count?: number };
    if (b.barn === barn && typeof b.count === "number") return b.count;
  }
  return null;
}

/** Collateral revaluation: per facility, the newest point of its price series at or before `atMs`. */
async function livePrices(ctx: CloudContext, facilityIds: string[], atMs: number) {
  const seriesOf = new Map<string, string | undefined>();
  for (const part of slices(facilityIds))
    for (const f of await ctx.db.kysely
      .selectFrom("lending_facilities")
      .select(["id", "servicing"])
      .where("id", "in", part)
      .execute())
      seriesOf.set(f.id, parseServicing(f.servicing).priceSeries);
  const points = new Map<string, { fenPerKg: number; source: string }>();
  // One query per distinct series (a handful), not per facility.
  for (const series of new Set([...seriesOf.values()].filter((x): x is string => !!x))) {
    const p = await ctx.db.kysely
      .selectFrom("lending_prices")
      .selectAll()
      .where("series", "=", series)
      .where("at", "<=", atMs)
      .orderBy("at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (p)
      points.set(series, {
        fenPerKg: Number(p.fen_per_kg),
        source: `${series} @ ${new Date(Number(p.at)).toISOString()} (${p.source})`,
      });
  }
  return (facilityId: string, batchPrice: number) => {
    const series = seriesOf.get(facilityId);
    return (series && points.get(series)) || { fenPerKg: batchPrice, source: "batch live price" };
  };
}

/** Ledger balances per (facility, batch) of the given batches, as `balances(db, facility, batch)` gives one. */
async function batchBalances(ctx: CloudContext, batches: BatchRow[]) {
  const out = new Map<string, Record<Account, number>>();
  for (const b of batches) out.set(`${b.facility_id}\u0000${b.id}`, emptyBalances());
  for (const part of slices(batches.map((b) => b.id)))
    for (const r of await ctx.db.kysely
      .selectFrom("lending_ledger_entries as e")
      .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
      .select([
        "t.facility_id",
        "t.batch_id",
        "e.account",
        (eb) => eb.fn.sum<string | number>("e.amount_fen").as("sum"),
      ])
      .where("t.batch_id", "in", part)
      .groupBy(["t.facility_id", "t.batch_id", "e.account"])
      .execute()) {
      const bal = out.get(`${r.facility_id}\u0000${r.batch_id}`);
      // PostgreSQL returns sum(bigint) as numeric text: convert (fen totals stay far below 2^53).
      if (bal) bal[r.account as Account] = Number(r.sum);
    }
  return out;
}

/**
 * Collateral = live herd value (head × expected weight at age × live price per kg) + the feed
 * stock in the silo at the feed price: with staged feed finance the money is lent before the
 * animals grow into it, and the unfed feed still secures it. LTV = (principal + interest booked and
 * accrued) / collateral. All in integer fen.
 */
export async function collateralOf(ctx: CloudContext, batchId: string, atMs: number): Promise<Collateral> {
  const b = await ctx.db.kysely
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  return (await collateralOfMany(ctx, [b], atMs)).get(batchId)!;
}

/**
 * `collateralOf` for many batches at once, set-based: a fixed number of queries whatever the number
 * of batches (the portfolio and the engine's tick at fleet scale), each result exactly what
 * `collateralOf` gives for that batch alone (it is the same code).
 */
export async function collateralOfMany(
  ctx: CloudContext,
  batches: BatchRow[],
  atMs: number,
): Promise<Map<string, Collateral>> {
  const out = new Map<string, Collateral>();
  if (batches.length === 0) return out;
  const db = ctx.db.kysely;
  const devicesOf = new Map(batches.map((b) => [b.id, JSON.parse(b.devices) as string[]]));
  const allDevices = [...new Set([...devicesOf.values()].flat())];
  const census = await newestPerDevice(ctx, allDevices, "kind", "census", atMs, 5);
  const silo = await newestValuePerDevice(ctx, allDevices, "silo.weight", atMs);
  const price = await livePrices(ctx, [...new Set(batches.map((b) => b.facility_id))], atMs);
  // Feed paid for in the last day is on its way to the silo: it counts as stock until delivered.
  const transit = new Map<string, number>();
  for (const part of slices(batches.map((b) => b.id)))
    for (const r of await db
      .selectFrom("lending_tranches")
      .select(["batch_id", (eb) => eb.fn.sum<string | number>("released_kg").as("kg")])
      .where("batch_id", "in", part)
      .where("status", "=", "released")
      .where("released_at", ">", atMs - DAY)
      .groupBy("batch_id")
      .execute())
      transit.set(r.batch_id, Number(r.kg ?? 0));
  const bals = await batchBalances(ctx, batches);
  for (const b of batches) {
    const devices = devicesOf.get(b.id)!;
    const p = loadProfile(b.species);
    const age = Math.max(0, (atMs - Number(b.placed_at)) / DAY);
    const counted = censusOf(newestOf(census, devices, 5), b.barn);
    const head = counted ?? Math.round(b.head_placed * survival(p, age));
    const weightKg = at(p.weightKg, age);
    const live = price(b.facility_id, Number(b.live_price_fen_per_kg));
    const herdValueFen = Math.round(head * weightKg * live.fenPerKg);
    const feedStockKg = Math.round(siloKg(newestOf(silo, devices, 1))) + (transit.get(b.id) ?? 0);
    const feedStockFen = feedStockKg * Number(b.feed_price_fen_per_kg);
    const bal = bals.get(`${b.facility_id}\u0000${b.id}`)!;
    const accrued = Number(BigInt(b.interest_num) / ACT360_DENOM) - Number(b.interest_posted_fen);
    const outstandingFen =
      bal.loan_principal + bal.interest_receivable + bal.fee_receivable + Math.max(0, accrued);
    out.set(b.id, {
      batchId: b.id,
      ageDays: Math.round(age * 10) / 10,
      head,
      headSource: counted === null ? "plan" : "census",
      weightKg: Math.round(weightKg * 1000) / 1000,
      livePriceFenPerKg: live.fenPerKg,
      priceSource: live.source,
      herdValueFen,
      feedStockKg,
      feedStockFen,
      outstandingFen,
      ltv:
        herdValueFen + feedStockFen > 0
          ? Math.round((outstandingFen / (herdValueFen + feedStockFen)) * 1000) / 1000
          : null,
    });
  }
  return out;
}

/** LTV and mortality alerts for one open batch; both also raise the evidence demand. */
export async function checkCollateral(
  ctx: CloudContext,
  batchId: string,
  atMs: number,
  /** The batch's collateral at `atMs`, when the caller computed it already (collateralOfMany). */
  known?: Collateral,
): Promise<Collateral> {
  const b = await ctx.db.kysely
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  const c = known ?? (await collateralOf(ctx, batchId, atMs));
  await checkCollateralMany(ctx, [b], atMs, new Map([[b.id, c]]));
  return c;
}

/**
 * LTV and mortality alerts for a set of open batches, with their collateral at `atMs`
 * (collateralOfMany): thresholds and recorded sales for all of them in one query each, then the
 * alerts per batch (raising one changes no other batch's collateral). One batch is the set of one.
 */
export async function checkCollateralMany(
  ctx: CloudContext,
  batches: BatchRow[],
  atMs: number,
  collateral: Map<string, Collateral>,
): Promise<void> {
  if (batches.length === 0) return;
  const db = ctx.db.kysely;
  const th = new Map<string, ReturnType<typeof parseThresholds>>();
  for (const part of slices([...new Set(batches.map((b) => b.facility_id))]))
    for (const f of await db
      .selectFrom("lending_facilities")
      .select(["id", "thresholds"])
      .where("id", "in", part)
      .execute())
      th.set(f.id, parseThresholds(f.thresholds));
  const devicesOf = new Map(batches.map((b) => [b.id, JSON.parse(b.devices) as string[]]));
  const events = new Map<string, Awaited<ReturnType<typeof soldEvents>>>();
  for (const part of slices([...new Set([...devicesOf.values()].flat())]))
    for (const e of await soldEvents(db, part, atMs)) {
      const list = events.get(e.device) ?? [];
      list.push(e);
      events.set(e.device, list);
    }
  for (const b of batches) {
    const c = collateral.get(b.id);
    const t = th.get(b.facility_id);
    if (!c || !t) throw new Error(`no collateral or facility for batch ${b.id}`);
    await alertsFor(
      ctx,
      b,
      c,
      t,
      devicesOf.get(b.id)!.flatMap((d) => events.get(d) ?? []),
      atMs,
    );
  }
}

async function alertsFor(
  ctx: CloudContext,
  b: BatchRow,
  c: Collateral,
  th: ReturnType<typeof parseThresholds>,
  sales: Awaited<ReturnType<typeof soldEvents>>,
  atMs: number,
) {
  const db = ctx.db.kysely;
  const batchId = b.id;
  const day = Math.floor(atMs / DAY);
  if (c.ltv !== null && c.ltv > th.ltvAlert && c.outstandingFen > 0) {
    const message = `batch ${b.id} LTV ${c.ltv} above ${th.ltvAlert}: outstanding ${c.outstandingFen} fen vs herd ${c.herdValueFen} fen (${c.head} head × ${c.weightKg} kg) + feed ${c.feedStockFen} fen (${c.feedStockKg} kg)`;
    const fresh = await raiseAlert(db, {
      facilityId: b.facility_id,
      batchId,
      kind: "ltv",
      severity: "warning",
      message,
      detail: c,
      dedupe: `ltv:${batchId}:${day}`,
      at: atMs,
    });
    if (fresh) await raiseEvidenceDemand(ctx, batchId, message, atMs);
  }
  // Recorded sales leave the barn alive: they lower the expected head, they are not mortality.
  const { sold } = herdMoves(sales, atMs);
  const expected = (b.head_placed - sold) * survival(loadProfile(b.species), c.ageDays);
  if (c.headSource === "census" && c.head < expected * (1 - th.mortalitySlack)) {
    const message = `batch ${b.id}: census ${c.head} head, ${Math.round((1 - c.head / expected) * 1000) / 10}% below the ${Math.round(expected)} expected after normal mortality`;
    const fresh = await raiseAlert(db, {
      facilityId: b.facility_id,
      batchId,
      kind: "mortality",
      severity: mortalitySeverity(expected, c.head, th.mortalitySlack),
      message,
      detail: { expected: Math.round(expected), counted: c.head },
      dedupe: `mortality:${batchId}`,
      at: atMs,
    });
    if (fresh) await raiseEvidenceDemand(ctx, batchId, message, atMs);
  }
}

async function soldEvents(db: Kysely<DB>, devices: string[], atMs: number) {
  if (devices.length === 0) return [];
  const rows = await db
    .selectFrom("records")
    .select(["device", "stream", "seq", "kind", "body", "t_wall as t"])
    .where("device", "in", devices)
    .where("kind", "=", "event")
    .where("received_at", "<=", atMs)
    .execute();
  return rows.map((r) => ({
    ...r,
    seq: Number(r.seq),
    t: Number(r.t),
    body: JSON.parse(r.body) as Record<string, unknown>,
  }));
}
