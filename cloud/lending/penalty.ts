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
  const p = await penaltyDue(q, batchId, at);
  if (p.resetThrough && p.penaltyThrough !== 0)
    await q.updateTable("lending_batches").set({ penalty_through: 0 }).where("id", "=", batchId).execute();
  if (p.days === 0 || p.resetThrough) return 0;
  await q
    .updateTable("lending_batches")
    .set({ penalty_through: p.today })
    .where("id", "=", batchId)
    .execute();
  if (p.fen <= 0) return 0;
  await postTx(q, {
    facilityId: p.facilityId,
    batchId,
    kind: "penalty",
    ref: `penalty:${batchId}:${p.today}`,
    memo: `penalty interest on ${p.overdueFen} fen overdue, ${p.days} day(s) to ${localDate(p.today, p.tz)}`,
    lines: [
      { account: "penalty_receivable", amountFen: p.fen },
      { account: "penalty_income", amountFen: -p.fen },
    ],
    at,
  });
  return p.fen;
}

/** The penalty not yet posted as of `at` (read only: payoff quotes use it; postPenalty books it). */
export async function penaltyDue(q: Kysely<DB>, batchId: string, at: number) {
  const b = await q
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["b.facility_id", "b.penalty_through", "f.servicing"])
    .where("b.id", "=", batchId)
    .executeTakeFirstOrThrow();
  const terms = parseServicing(b.servicing);
  const tz = terms.timeZone;
  const today = localDayStart(at, tz);
  const base = {
    facilityId: b.facility_id,
    tz,
    today,
    penaltyThrough: Number(b.penalty_through),
    overdueFen: 0,
    days: 0,
    fen: 0,
    resetThrough: false,
  };
  if (terms.penaltyRatePpm === 0) return base;
  const principal = (await balances(q, b.facility_id, batchId)).loan_principal;
  const od = await overdueOf(q, batchId, principal, at, tz, terms.graceDays);
  if (od.overdueFen === 0 || od.nextDueAt === null) return { ...base, resetThrough: true };
  const from = Math.max(Number(b.penalty_through), localDayStart(od.nextDueAt, tz));
  const days = localDays(from, today, tz);
  const fen = Number(roundHalfUp(accrualNum(od.overdueFen, terms.penaltyRatePpm, days)));
  return { ...base, overdueFen: od.overdueFen, days, fen };
}
