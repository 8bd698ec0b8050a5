import { sql } from "kysely";
import type { CloudContext } from "../context.ts";
import { collateralOfMany } from "../lending/collateral.ts";

/**
 * The lender's portfolio in one read: facilities with limit, committed and outstanding, each open
 * batch's collateral and LTV now, its latest tranche decision, and open alerts. The lending API has
 * no list of facilities or batches, so the dashboard reads the tables directly (read-only).
 */
export async function portfolioView(ctx: CloudContext) {
  const db = ctx.db.kysely;
  const now = ctx.now();
  const facilities = await db
    .selectFrom("lending_facilities as f")
    .innerJoin("lending_borrowers as b", "b.id", "f.borrower_id")
    .select(["f.id", "f.currency", "f.limit_fen", "f.committed_fen", "f.term_end", "b.name as borrower"])
    .orderBy("f.created_at")
    .execute();
  const batches = await db.selectFrom("lending_batches").selectAll().orderBy("created_at").execute();
  const openAlerts = await db
    .selectFrom("lending_alerts")
    .select(["batch_id", "severity"])
    .where("acked_at", "is", null)
    .execute();
  // Set-based: a fixed number of queries for the whole portfolio, not a handful per facility and batch.
  const collateral = await collateralOfMany(ctx, batches, now);
  const principal = new Map<string, number>();
  for (const r of await db
    .selectFrom("lending_ledger_entries as e")
    .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
    .select(["t.facility_id", (eb) => eb.fn.sum<string | number>("e.amount_fen").as("sum")])
    .where("e.account", "=", "loan_principal")
    .groupBy("t.facility_id")
    .execute())
    principal.set(r.facility_id, Number(r.sum));
  const lastDecision = new Map<
    string,
    { seq: number; outcome: string; amount_fen: number; decided_at: number }
  >();
  for (const r of (
    await sql<{ batch_id: string; seq: number; outcome: string; amount_fen: number; decided_at: number }>`
      select batch_id, seq, outcome, amount_fen, decided_at from (
        select t.batch_id, t.seq, d.outcome, d.amount_fen, d.decided_at,
          row_number() over (partition by t.batch_id order by d.decided_at desc) as rn
        from lending_decisions d join lending_tranches t on t.id = d.tranche_id
      ) last where rn = 1`.execute(db)
  ).rows)
    lastDecision.set(r.batch_id, r);
  const held = new Map<string, number>();
  for (const r of await db
    .selectFrom("lending_tranches")
    .select(["batch_id", (eb) => eb.fn.countAll<number>().as("n")])
    .where("status", "=", "held")
    .groupBy("batch_id")
    .execute())
    held.set(r.batch_id, Number(r.n));
  const alertsOf = new Map<string, number>();
  for (const a of openAlerts) if (a.batch_id) alertsOf.set(a.batch_id, (alertsOf.get(a.batch_id) ?? 0) + 1);
  const batchesOf = new Map<string, typeof batches>();
  for (const b of batches) batchesOf.set(b.facility_id, [...(batchesOf.get(b.facility_id) ?? []), b]);
  const out = [];
  for (const f of facilities) {
    const rows = (batchesOf.get(f.id) ?? []).map((b) => {
      const last = lastDecision.get(b.id);
      return {
        id: b.id,
        barn: b.barn,
        species: b.species,
        status: b.status,
        headPlaced: Number(b.head_placed),
        placedAt: Number(b.placed_at),
        collateral: collateral.get(b.id)!,
        lastDecision: last
          ? {
              seq: Number(last.seq),
              outcome: last.outcome,
              amountFen: Number(last.amount_fen),
              at: Number(last.decided_at),
            }
          : null,
        heldTranches: held.get(b.id) ?? 0,
        openAlerts: alertsOf.get(b.id) ?? 0,
      };
    });
    const collateralFen = rows.reduce((n, r) => n + r.collateral.herdValueFen + r.collateral.feedStockFen, 0);
    const outstandingFen = rows.reduce((n, r) => n + r.collateral.outstandingFen, 0);
    out.push({
      id: f.id,
      borrower: f.borrower,
      currency: f.currency,
      limitFen: Number(f.limit_fen),
      committedFen: Number(f.committed_fen),
      availableFen: Number(f.limit_fen) - Number(f.committed_fen),
      principalFen: principal.get(f.id) ?? 0,
      outstandingFen,
      collateralFen,
      ltv: collateralFen > 0 ? Math.round((outstandingFen / collateralFen) * 1000) / 1000 : null,
      termEnd: Number(f.term_end),
      batches: rows,
    });
  }
  return {
    at: now,
    facilities: out,
    openAlerts: openAlerts.length,
    criticalAlerts: openAlerts.filter((a) => a.severity === "critical").length,
  };
}
