import type { Kysely, Transaction } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_LENDING_STATE } from "./errors.ts";
import { accrualNum, interestToPost } from "./interest.ts";
import { balances, postTx } from "./ledger.ts";
import { localDate, localDayStart, localDays } from "./local-day.ts";
import { parseServicing } from "./servicing-terms.ts";

type Q = Kysely<DB> | Transaction<DB>;

/**
 * Accrues a batch's interest up to the start of the local day (facility time zone) holding `at`, on
 * the principal it has outstanding now. Called before every change of balance, so a drawdown earns
 * interest from its local day of release and stops on its day of repayment (ACT/360, see
 * interest.ts). While nothing is outstanding the accrual date simply follows `at` (also backwards:
 * money released before placement earns from its release day, not from placement). Callers hold
 * the batch's lock (money-tx.ts); the update is also conditional on the old accrual date.
 */
export async function accrue(q: Q, batchId: string, at: number): Promise<void> {
  const b = await q
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["b.facility_id", "b.interest_num", "b.accrued_through", "f.rate_ppm", "f.servicing"])
    .where("b.id", "=", batchId)
    .executeTakeFirstOrThrow();
  const tz = parseServicing(b.servicing).timeZone;
  const through = localDayStart(at, tz);
  const principal = (await balances(q, b.facility_id, batchId)).loan_principal;
  const days = principal > 0 ? localDays(Number(b.accrued_through), at, tz) : 0;
  if (through === Number(b.accrued_through) || (principal > 0 && days === 0)) return;
  const num = BigInt(b.interest_num) + accrualNum(principal, Number(b.rate_ppm), days);
  const r = await q
    .updateTable("lending_batches")
    .set({ interest_num: num.toString(), accrued_through: through })
    .where("id", "=", batchId)
    .where("accrued_through", "=", b.accrued_through)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1)
    throw ERR_LENDING_STATE(`batch ${batchId} was accrued concurrently; retry`);
}

/** Accrues, then posts the interest not yet booked, rounded once (half-up) from the exact total. */
export async function postInterest(q: Q, batchId: string, at: number): Promise<number> {
  await accrue(q, batchId, at);
  const tz = parseServicing(
    (
      await q
        .selectFrom("lending_batches as b")
        .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
        .select("f.servicing")
        .where("b.id", "=", batchId)
        .executeTakeFirstOrThrow()
    ).servicing,
  ).timeZone;
  const b = await q
    .selectFrom("lending_batches")
    .selectAll()
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  const fen = interestToPost(BigInt(b.interest_num), Number(b.interest_posted_fen));
  if (fen <= 0) return 0;
  await postTx(q, {
    facilityId: b.facility_id,
    batchId,
    kind: "interest",
    ref: `interest:${batchId}:${b.accrued_through}`,
    memo: `interest accrued to ${localDate(Number(b.accrued_through), tz)} (ACT/360, half-up)`,
    lines: [
      { account: "interest_receivable", amountFen: fen },
      { account: "interest_income", amountFen: -fen },
    ],
    at,
  });
  const r = await q
    .updateTable("lending_batches")
    .set({ interest_posted_fen: Number(b.interest_posted_fen) + fen })
    .where("id", "=", batchId)
    .where("interest_posted_fen", "=", b.interest_posted_fen)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1)
    throw ERR_LENDING_STATE(`batch ${batchId} interest was posted concurrently; retry`);
  return fen;
}
