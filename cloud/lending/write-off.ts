import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { postInterest } from "./accrual.ts";
import { closeBatch } from "./close-batch.ts";
import { ERR_LENDING_DUPLICATE, ERR_LENDING_STATE } from "./errors.ts";
import { balances, postTx } from "./ledger.ts";
import { adjustCommitted } from "./limit.ts";
import { lockedBatch, moneyTx } from "./money-tx.ts";
import { postPenalty } from "./penalty.ts";

/**
 * Writes a batch off (核销): interest and penalty are posted to today, then everything owed leaves
 * the books: the loan-loss allowance built by provisioning absorbs it first, write_off_expense the
 * rest. Outstanding principal no longer counts against the limit; tranches not released are
 * cancelled. One write-off per batch (ref "writeoff:<batch>"), under the batch lock.
 */
export async function writeOffBatch(db: Kysely<DB>, batchId: string, reason: string, by: string, at: number) {
  return moneyTx(db, async (trx) => {
    const b = await lockedBatch(trx, batchId);
    if (b.status !== "open")
      throw ERR_LENDING_STATE(`batch ${batchId} is ${b.status}; only an open batch is written off`);
    await postInterest(trx, batchId, at);
    await postPenalty(trx, batchId, at);
    const bal = await balances(trx, b.facility_id, batchId);
    const owed = bal.loan_principal + bal.interest_receivable + bal.fee_receivable + bal.penalty_receivable;
    // The allowance is a credit balance (negative, debit-positive): use it up to what is written off.
    const fromAllowance = Math.min(owed, Math.max(0, -bal.loan_loss_allowance));
    if (owed > 0)
      await postTx(trx, {
        facilityId: b.facility_id,
        batchId,
        kind: "write_off",
        ref: `writeoff:${batchId}`,
        memo: `written off by ${by}: ${reason}`,
        lines: [
          { account: "loan_principal", amountFen: -bal.loan_principal },
          { account: "interest_receivable", amountFen: -bal.interest_receivable },
          { account: "fee_receivable", amountFen: -bal.fee_receivable },
          { account: "penalty_receivable", amountFen: -bal.penalty_receivable },
          { account: "loan_loss_allowance", amountFen: fromAllowance },
          { account: "write_off_expense", amountFen: owed - fromAllowance },
        ],
        at,
      });
    await adjustCommitted(trx, b.facility_id, -bal.loan_principal, "write-off");
    await closeBatch(trx, b.facility_id, batchId, "written_off", at);
    return {
      batchId,
      writtenOffFen: owed,
      principalFen: bal.loan_principal,
      fromAllowanceFen: fromAllowance,
    };
  });
}

/** Money recovered on a written-off batch (collateral sold, guarantor paid): cash in, recovery income. */
export async function recoverBatch(
  db: Kysely<DB>,
  batchId: string,
  amountFen: number,
  reference: string,
  at: number,
) {
  return moneyTx(db, async (trx) => {
    const b = await lockedBatch(trx, batchId);
    if (b.status !== "written_off")
      throw ERR_LENDING_STATE(`batch ${batchId} is ${b.status}, not written off`);
    const ref = `recover:${batchId}:${reference}`;
    const dup = await trx
      .selectFrom("lending_ledger_tx")
      .select("id")
      .where("ref", "=", ref)
      .executeTakeFirst();
    if (dup)
      throw ERR_LENDING_DUPLICATE(`recovery reference '${reference}' was already used for batch ${batchId}`);
    await postTx(trx, {
      facilityId: b.facility_id,
      batchId,
      kind: "recovery",
      ref,
      memo: `recovery ${reference}`,
      lines: [
        { account: "cash", amountFen },
        { account: "recovery_income", amountFen: -amountFen },
      ],
      at,
    });
    return { batchId, recoveredFen: amountFen };
  });
}
