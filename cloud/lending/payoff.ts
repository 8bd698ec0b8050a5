import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import { classify } from "./classify.ts";
import { ACT360_DENOM, roundHalfUp } from "./interest.ts";
import { ACCOUNTS, type Account } from "./ledger.ts";
import { addLocalDays, localDate, localDayStart } from "./local-day.ts";
import { overdueOf } from "./overdue.ts";
import { penaltyDue } from "./penalty.ts";
import { parseServicing } from "./servicing-terms.ts";

/**
 * A batch's position as of any instant: balances from the ledger postings made by then, and the
 * interest accrued but not yet posted, recomputed from the principal's history by local day
 * (ACT/360, the same sum the accrual keeps). `totalFen` is the payoff quote: a repayment of that
 * amount on the same local day pays everything (repay posts interest to the start of that day,
 * which is exactly what is counted here), so paying what the statement shows closes the loan.
 */
export async function payoffQuote(db: Kysely<DB>, batchId: string, asOf: number) {
  const b = await db
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["b.id", "b.facility_id", "b.status", "b.written_off_at", "f.rate_ppm", "f.servicing"])
    .where("b.id", "=", batchId)
    .executeTakeFirst();
  if (!b) throw ERR_NOT_FOUND(`no batch ${batchId}`);
  const terms = parseServicing(b.servicing);
  const tz = terms.timeZone;
  const rows = await db
    .selectFrom("lending_ledger_entries as e")
    .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
    .select(["t.kind", "t.posted_at", "e.account", "e.amount_fen"])
    .where("t.batch_id", "=", batchId)
    .where("t.posted_at", "<=", asOf)
    .orderBy("t.posted_at")
    .execute();
  const bal = Object.fromEntries(ACCOUNTS.map((a) => [a, 0])) as Record<Account, number>;
  let interestBooked = 0;
  for (const r of rows) {
    bal[r.account as Account] += Number(r.amount_fen);
    if (r.kind === "interest" && r.account === "interest_receivable") interestBooked += Number(r.amount_fen);
  }
  // Replay: each local day before asOf's day earns on the principal outstanding at that day's end.
  const moves = rows.filter((r) => r.account === "loan_principal");
  let num = 0n;
  if (moves.length > 0) {
    const end = localDayStart(asOf, tz);
    let i = 0;
    let p = 0;
    for (let d = localDayStart(Number(moves[0]!.posted_at), tz); d < end; d = addLocalDays(d, 1, tz)) {
      const next = addLocalDays(d, 1, tz);
      while (i < moves.length && Number(moves[i]!.posted_at) < next) p += Number(moves[i++]!.amount_fen);
      num += BigInt(p) * BigInt(b.rate_ppm);
    }
  }
  const writtenOff = b.written_off_at !== null && Number(b.written_off_at) <= asOf;
  const accruedFen = writtenOff ? 0 : Math.max(0, Number(roundHalfUp(num, ACT360_DENOM)) - interestBooked);
  const pen = writtenOff ? { fen: 0 } : await penaltyDue(db, batchId, asOf);
  const penaltyUnposted = writtenOff ? 0 : pen.fen;
  const od = await overdueOf(db, batchId, bal.loan_principal, asOf, tz, terms.graceDays);
  const owed = {
    principalFen: bal.loan_principal,
    interestFen: bal.interest_receivable + accruedFen,
    feesFen: bal.fee_receivable,
    penaltyFen: bal.penalty_receivable + penaltyUnposted,
  };
  return {
    batchId,
    asOf,
    localDate: localDate(asOf, tz),
    timeZone: tz,
    status: b.status,
    ...owed,
    interestAccruedUnpostedFen: accruedFen,
    totalFen: owed.principalFen + owed.interestFen + owed.feesFen + owed.penaltyFen,
    overdueFen: od.overdueFen,
    daysPastDue: od.daysPastDue,
    nextDueAt: od.nextDueAt,
    classification: classify(od.daysPastDue, writtenOff),
    balances: bal,
  };
}
