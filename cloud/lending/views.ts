import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { collateralOf } from "./collateral.ts";
import { ACT360_DENOM } from "./interest.ts";
import { balances } from "./ledger.ts";

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

export async function statementView(db: Kysely<DB>, facilityId: string) {
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
    const bal = await balances(db, facilityId, b.id);
    const accrued = Number(BigInt(b.interest_num) / ACT360_DENOM) - Number(b.interest_posted_fen);
    perBatch.push({
      batchId: b.id,
      status: b.status,
      balances: bal,
      interestAccruedUnpostedFen: Math.max(0, accrued),
    });
  }
  return {
    facilityId,
    currency: f.currency,
    limitFen: Number(f.limit_fen),
    committedFen: Number(f.committed_fen),
    availableFen: Number(f.limit_fen) - Number(f.committed_fen),
    balances: await balances(db, facilityId),
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
