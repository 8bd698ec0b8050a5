import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { accrualNum, roundHalfUp } from "./interest.ts";
import { balances, postTx } from "./ledger.ts";
import { localDate, localDayStart, localDays } from "./local-day.ts";
import { overdueOf } from "./overdue.ts";
import { parseServicing } from "./servicing-terms.ts";

/**
 * Penalty interest (罚息) on overdue principal: penaltyRatePpm a year, ACT/360, for each local day
 * from when the drawdown fell due (after grace) to the start of today, on the overdue principal at
 * the time of posting. It is posted before every repayment and by the daily servicing job, so the
 * overdue principal it uses is the one of that day. Call with the batch locked (money-tx.ts).
 */
export async function postPenalty(q: Kysely<DB>, batchId: string, at: number): Promise<number> {
  const b = await q
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["b.facility_id", "b.penalty_through", "f.servicing"])
    .where("b.id", "=", batchId)
    .executeTakeFirstOrThrow();
  const terms = parseServicing(b.servicing);
  if (terms.penaltyRatePpm === 0) return 0;
  const principal = (await balances(q, b.facility_id, batchId)).loan_principal;
  const od = await overdueOf(q, batchId, principal, at, terms.timeZone, terms.graceDays);
  const today = localDayStart(at, terms.timeZone);
  if (od.overdueFen === 0 || od.nextDueAt === null) {
    if (Number(b.penalty_through) !== 0)
      await q.updateTable("lending_batches").set({ penalty_through: 0 }).where("id", "=", batchId).execute();
    return 0;
  }
  const from = Math.max(Number(b.penalty_through), localDayStart(od.nextDueAt, terms.timeZone));
  const days = localDays(from, today, terms.timeZone);
  if (days === 0) return 0;
  const fen = Number(roundHalfUp(accrualNum(od.overdueFen, terms.penaltyRatePpm, days)));
  await q.updateTable("lending_batches").set({ penalty_through: today }).where("id", "=", batchId).execute();
  if (fen <= 0) return 0;
  await postTx(q, {
    facilityId: b.facility_id,
    batchId,
    kind: "penalty",
    ref: `penalty:${batchId}:${today}`,
    memo: `penalty interest on ${od.overdueFen} fen overdue, ${days} day(s) to ${localDate(today, terms.timeZone)}`,
    lines: [
      { account: "penalty_receivable", amountFen: fen },
      { account: "penalty_income", amountFen: -fen },
    ],
    at,
  });
  return fen;
}
