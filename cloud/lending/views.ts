import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { collateralOf } from "./collateral.ts";
import { ACCOUNTS, type Account } from "./ledger.ts";
import { payoffQuote } from "./payoff.ts";

/** Read models for the API: rows turned into JSON a lender reads (JSON columns parsed). */
const parse = (s: string) => JSON.parse(s) as unknown;

export async function trancheView(db: Kysely<DB>, id: string) {
  const t = await db.selectFrom("lending_tranches").selectAll().where("id", "=", id).executeTakeFirst();
  if (!t) throw ERR_NOT_FOUND(`no tranche ${id}`);
  const decisions = await db
    .selectFrom("lending_decisions")
    .selectAll()
    .where("tranche_id", "=", id)
    .orderBy("decided_at")
    .execute();
  const overrides = await db
    .selectFrom("lending_overrides")
    .selectAll()
    .where("tranche_id", "=", id)
    .orderBy("created_at")
    .execute();
  const order = await db
    .selectFrom("lending_payment_orders")
    .selectAll()
    .where("tranche_id", "=", id)
    .executeTakeFirst();
  return {
    ...t,
    decisions: decisions.map((d) => ({ ...d, reasons: parse(d.reasons), gates: parse(d.gates) })),
    overrides,
    paymentOrder: order ?? null,
  };
}

export async function batchView(ctx: CloudContext, id: string) {
  const db = ctx.db.kysely;
  const b = await db.selectFrom("lending_batches").selectAll().where("id", "=", id).executeTakeFirst();
  if (!b) throw ERR_NOT_FOUND(`no batch ${id}`);
  const tranches = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("batch_id", "=", id)
    .orderBy("seq")
    .execute();
  const { interest_num, ...rest } = b;
  return { ...rest, devices: parse(b.devices), tranches, collateral: await collateralOf(ctx, id, ctx.now()) };
}

/**
 * The facility's statement as of `asOf` (default now): per batch the payoff quote (payoff.ts),
 * whose interest runs to the start of asOf's local day, not only to the last balance change.
 */
export async function statementView(db: Kysely<DB>, facilityId: string, asOf: number = Date.now()) {
  const f = await db
    .selectFrom("lending_facilities")
    .selectAll()
    .where("id", "=", facilityId)
    .executeTakeFirst();
  if (!f) throw ERR_NOT_FOUND(`no facility ${facilityId}`);
  const batches = await db
    .selectFrom("lending_batches")
    .selectAll()
    .where("facility_id", "=", facilityId)
    .execute();
  const perBatch = [];
  for (const b of batches) {
    const q = await payoffQuote(db, b.id, asOf);
    perBatch.push({
      batchId: b.id,
      status: b.status,
      balances: q.balances,
      interestAccruedUnpostedFen: q.interestAccruedUnpostedFen,
      payoffFen: q.totalFen,
      overdueFen: q.overdueFen,
      daysPastDue: q.daysPastDue,
      classification: q.classification,
    });
  }
  return {
    facilityId,
    asOf,
    currency: f.currency,
    limitFen: Number(f.limit_fen),
    committedFen: Number(f.committed_fen),
    availableFen: Number(f.limit_fen) - Number(f.committed_fen),
    balances: await balancesAsOf(db, facilityId, asOf),
    batches: perBatch,
  };
}

export async function ledgerView(db: Kysely<DB>, facilityId: string) {
  const txs = await db
    .selectFrom("lending_ledger_tx")
    .selectAll()
    .where("facility_id", "=", facilityId)
    .orderBy("posted_at")
    .orderBy("id")
    .execute();
  if (txs.length === 0) return [];
  const lines = await db
    .selectFrom("lending_ledger_entries")
    .selectAll()
    .where(
      "tx_id",
      "in",
      txs.map((t) => t.id),
    )
    .execute();
  return txs.map((t) => ({
    ...t,
    lines: lines
      .filter((l) => l.tx_id === t.id)
      .sort((a, b) => a.line - b.line)
      .map((l) => ({ account: l.account, amountFen: Number(l.amount_fen) })),
  }));
}

export function facilityView(f: DB["lending_facilities"]) {
  return { ...f, thresholds: parse(f.thresholds), waterfall: parse(f.waterfall) };
}

async function balancesAsOf(db: Kysely<DB>, facilityId: string, asOf: number) {
  const rows = await db
    .selectFrom("lending_ledger_entries as e")
    .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
    .select(["e.account", (eb) => eb.fn.sum<string | number>("e.amount_fen").as("sum")])
    .where("t.facility_id", "=", facilityId)
    .where("t.posted_at", "<=", asOf)
    .groupBy("e.account")
    .execute();
  const out = Object.fromEntries(ACCOUNTS.map((a) => [a, 0])) as Record<Account, number>;
  for (const r of rows) out[r.account as Account] = Number(r.sum);
  return out;
}
