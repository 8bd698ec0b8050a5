import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { postInterest } from "./accrual.ts";
import { raiseAlert } from "./alerts.ts";
import { classify, provisionFor } from "./classify.ts";
import { postPeriodicFees } from "./fees.ts";
import { balances, postTx } from "./ledger.ts";
import { localDate, localDayStart, localMonthStart } from "./local-day.ts";
import { lockRows, moneyTx } from "./money-tx.ts";
import { overdueOf } from "./overdue.ts";
import { postPenalty } from "./penalty.ts";
import { parseServicing } from "./servicing-terms.ts";

/**
 * The daily servicing job (run by the lending engine's tick and by POST /api/v1/servicing/run), per
 * open batch under its lock: month-end accrual (interest posted as of each local month start
 * passed, so the books close each month with the month's interest), penalty on overdue
 * principal, periodic fees, an overdue alert per day, classification and the provision it needs
 * (the loan-loss allowance is moved to the category's rate of outstanding principal by one
 * adjusting posting per change). Every posting has a unique ref, so two instances running it do
 * each thing once.
 */
export async function servicingTick(db: Kysely<DB>, now: number) {
  const open = await db
    .selectFrom("lending_batches")
    .select("id")
    .where("status", "=", "open")
    .where("placed_at", "<=", now)
    .execute();
  const out = [];
  for (const { id } of open) out.push(await serviceBatch(db, id, now));
  return out;
}

export async function serviceBatch(db: Kysely<DB>, batchId: string, now: number) {
  const r = await moneyTx(db, async (trx) => {
    await lockRows(trx, "lending_batches", [batchId]);
    const b = await trx
      .selectFrom("lending_batches as b")
      .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
      .select(["b.id", "b.facility_id", "b.placed_at", "b.status", "b.accrued_through", "f.servicing"])
      .where("b.id", "=", batchId)
      .executeTakeFirstOrThrow();
    if (b.status !== "open") return null;
    const terms = parseServicing(b.servicing);
    const tz = terms.timeZone;
    const month = localMonthStart(now, tz);
    let monthEndFen = 0;
    if (Number(b.accrued_through) < month) monthEndFen = await postInterest(trx, batchId, month);
    const penaltyFen = await postPenalty(trx, batchId, now);
    const feesFen = await postPeriodicFees(trx, b, b.servicing, now);
    const bal = await balances(trx, b.facility_id, batchId);
    const od = await overdueOf(trx, batchId, bal.loan_principal, now, tz, terms.graceDays);
    const category = classify(od.daysPastDue);
    const need = provisionFor(category, bal.loan_principal);
    const have = Math.max(0, -bal.loan_loss_allowance);
    if (need !== have) {
      await postTx(trx, {
        facilityId: b.facility_id,
        batchId,
        kind: "provision",
        ref: `provision:${batchId}:${localDayStart(now, tz)}:${have}->${need}`,
        memo: `allowance to ${need} fen (${category}, ${od.daysPastDue} days past due) on ${localDate(now, tz)}`,
        lines: [
          { account: "provision_expense", amountFen: need - have },
          { account: "loan_loss_allowance", amountFen: have - need },
        ],
        at: now,
      });
    }
    return {
      batchId,
      facilityId: b.facility_id,
      monthEndFen,
      penaltyFen,
      feesFen,
      category,
      provisionFen: need,
      ...od,
      tz,
    };
  });
  if (r && r.overdueFen > 0) {
    await raiseAlert(db, {
      facilityId: r.facilityId,
      batchId,
      kind: "overdue",
      severity: r.daysPastDue > 90 ? "critical" : "warning",
      message: `batch ${batchId}: ${r.overdueFen} fen overdue for ${r.daysPastDue} day(s) (${r.category})`,
      detail: r,
      dedupe: `overdue:${batchId}:${localDate(now, r.tz)}`,
      at: now,
    });
  }
  return r;
}
