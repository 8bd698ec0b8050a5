import type { Kysely } from "kysely";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { herdMoves } from "../quality/herd.ts";
import { mortalitySeverity } from "./alert-severity.ts";
import { raiseAlert, raiseEvidenceDemand } from "./alerts.ts";
import { ACT360_DENOM } from "./interest.ts";
import { balances } from "./ledger.ts";
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

/**
 * Bodies of the newest records of the batch's devices with `col` = `value` (a stream or a kind),
 * captured and received by `atMs` (what the cloud knew then), newest first.
 */
async function latestBodies(
  ctx: CloudContext,
  devices: string[],
  col: "stream" | "kind",
  value: string,
  atMs: number,
  limit: number,
): Promise<unknown[]> {
  if (devices.length === 0) return [];
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select(["body"])
    .where("device", "in", devices)
    .where(col, "=", value)
    .where("t_wall", "<=", atMs)
    .where("received_at", "<=", atMs)
    .orderBy("t_wall", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => JSON.parse(r.body));
}

/** The latest silo weight of the batch's devices up to `atMs` (feed the loan paid for, still in the barn). */
async function latestSiloKg(ctx: CloudContext, devices: string[], atMs: number): Promise<number> {
  const [b] = await latestBodies(ctx, devices, "stream", "silo.weight", atMs, 1);
  const v = (b as { value?: unknown } | undefined)?.value;
  return typeof v === "number" && v > 0 ? v : 0;
}

/** The latest census count of the batch's barn up to `atMs`, if any. */
async function latestCensus(
  ctx: CloudContext,
  devices: string[],
  barn: string,
  atMs: number,
): Promise<number | null> {
  for (const body of await latestBodies(ctx, devices, "kind", "census", atMs, 5)) {
    const b = body as { barn?: string; count?: number };
    if (b.barn === barn && typeof b.count === "number") return b.count;
  }
  return null;
}

/** Collateral revaluation: the newest point of the facility's price series at or before `atMs`. */
async function livePrice(ctx: CloudContext, facilityId: string, batchPrice: number, atMs: number) {
  const f = await ctx.db.kysely
    .selectFrom("lending_facilities")
    .select("servicing")
    .where("id", "=", facilityId)
    .executeTakeFirstOrThrow();
  const series = parseServicing(f.servicing).priceSeries;
  if (series) {
    const p = await ctx.db.kysely
      .selectFrom("lending_prices")
      .selectAll()
      .where("series", "=", series)
      .where("at", "<=", atMs)
      .orderBy("at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (p)
      return {
        fenPerKg: Number(p.fen_per_kg),
        source: `${series} @ ${new Date(Number(p.at)).toISOString()} (${p.source})`,
      };
  }
  return { fenPerKg: batchPrice, source: "batch live price" };
}

/**
 * Collateral = live herd value (head × expected weight at age × live price per kg) + the feed
 * stock in the silo at the feed price: with staged feed finance the money is lent before the
 * animals grow into it, and the unfed feed still secures it. LTV = (principal + interest booked and
 * accrued) / collateral. All in integer fen.
 */
export async function collateralOf(ctx: CloudContext, batchId: string, atMs: number): Promise<Collateral> {
  const db = ctx.db.kysely;
  const b = await db
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  const p = loadProfile(b.species);
  const age = Math.max(0, (atMs - Number(b.placed_at)) / DAY);
  const census = await latestCensus(ctx, JSON.parse(b.devices) as string[], b.barn, atMs);
  const head = census ?? Math.round(b.head_placed * survival(p, age));
  const weightKg = at(p.weightKg, age);
  const price = await livePrice(ctx, b.facility_id, Number(b.live_price_fen_per_kg), atMs);
  const herdValueFen = Math.round(head * weightKg * price.fenPerKg);
  // Feed paid for in the last day is on its way to the silo: it counts as stock until delivered.
  const transit = await db
    .selectFrom("lending_tranches")
    .select((eb) => eb.fn.sum<string | number>("released_kg").as("kg"))
    .where("batch_id", "=", batchId)
    .where("status", "=", "released")
    .where("released_at", ">", atMs - DAY)
    .executeTakeFirst();
  const feedStockKg =
    Math.round(await latestSiloKg(ctx, JSON.parse(b.devices) as string[], atMs)) + Number(transit?.kg ?? 0);
  const feedStockFen = feedStockKg * Number(b.feed_price_fen_per_kg);
  const bal = await balances(db, b.facility_id, b.id);
  const accrued = Number(BigInt(b.interest_num) / ACT360_DENOM) - Number(b.interest_posted_fen);
  const outstandingFen =
    bal.loan_principal + bal.interest_receivable + bal.fee_receivable + Math.max(0, accrued);
  return {
    batchId,
    ageDays: Math.round(age * 10) / 10,
    head,
    headSource: census === null ? "plan" : "census",
    weightKg: Math.round(weightKg * 1000) / 1000,
    livePriceFenPerKg: price.fenPerKg,
    priceSource: price.source,
    herdValueFen,
    feedStockKg,
    feedStockFen,
    outstandingFen,
    ltv:
      herdValueFen + feedStockFen > 0
        ? Math.round((outstandingFen / (herdValueFen + feedStockFen)) * 1000) / 1000
        : null,
  };
}

/** LTV and mortality alerts for one open batch; both also raise the evidence demand. */
export async function checkCollateral(ctx: CloudContext, batchId: string, atMs: number): Promise<Collateral> {
  const db = ctx.db.kysely;
  const b = await db
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  const f = await db
    .selectFrom("lending_facilities")
    .select(["thresholds"])
    .where("id", "=", b.facility_id)
    .executeTakeFirstOrThrow();
  const th = parseThresholds(f.thresholds);
  const c = await collateralOf(ctx, batchId, atMs);
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
  const { sold } = herdMoves(await soldEvents(db, JSON.parse(b.devices) as string[], atMs), atMs);
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
  return c;
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
