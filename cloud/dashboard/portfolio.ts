import type { CloudContext } from "../context.ts";
import { collateralOf } from "../lending/collateral.ts";
import { balances } from "../lending/ledger.ts";

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
  const out = [];
  for (const f of facilities) {
    const bal = await balances(db, f.id);
    const rows = [];
    for (const b of batches.filter((x) => x.facility_id === f.id)) {
      const c = await collateralOf(ctx, b.id, now);
      const last = await db
        .selectFrom("lending_decisions as d")
        .innerJoin("lending_tranches as t", "t.id", "d.tranche_id")
        .select(["t.seq", "d.outcome", "d.amount_fen", "d.decided_at"])
        .where("t.batch_id", "=", b.id)
        .orderBy("d.decided_at", "desc")
        .limit(1)
        .executeTakeFirst();
      const held = await db
        .selectFrom("lending_tranches")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("batch_id", "=", b.id)
        .where("status", "=", "held")
        .executeTakeFirst();
      rows.push({
        id: b.id,
        barn: b.barn,
        species: b.species,
        status: b.status,
        headPlaced: Number(b.head_placed),
        placedAt: Number(b.placed_at),
        collateral: c,
        lastDecision: last
          ? {
              seq: last.seq,
              outcome: last.outcome,
              amountFen: Number(last.amount_fen),
              at: Number(last.decided_at),
            }
          : null,
        heldTranches: Number(held?.n ?? 0),
        openAlerts: openAlerts.filter((a) => a.batch_id === b.id).length,
      });
    }
    const collateralFen = rows.reduce((n, r) => n + r.collateral.herdValueFen + r.collateral.feedStockFen, 0);
    const outstandingFen = rows.reduce((n, r) => n + r.collateral.outstandingFen, 0);
    out.push({
      id: f.id,
      borrower: f.borrower,
      currency: f.currency,
      limitFen: Number(f.limit_fen),
      committedFen: Number(f.committed_fen),
      availableFen: Number(f.limit_fen) - Number(f.committed_fen),
      principalFen: bal.loan_principal,
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
