import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { postInterest } from "./accrual.ts";
import { closeBatch } from "./close-batch.ts";
import { ERR_LENDING_DUPLICATE, ERR_LENDING_PAYOFF, ERR_LENDING_STATE } from "./errors.ts";
import { balances, type Line, postTx } from "./ledger.ts";
import { adjustCommitted } from "./limit.ts";
import { lockedBatch, moneyTx } from "./money-tx.ts";
import { postPenalty } from "./penalty.ts";
import type { Waterfall } from "./thresholds.ts";

export interface Allocation {
  fees: number;
  interest: number;
  principal: number;
  excess: number;
}

/** Splits a payment over what is owed in the waterfall's order (default fees, interest, principal). */
export function allocate(amountFen: number, owed: Omit<Allocation, "excess">, order: Waterfall): Allocation {
  const out: Allocation = { fees: 0, interest: 0, principal: 0, excess: 0 };
  let left = amountFen;
  for (const k of order) {
    const take = Math.min(left, Math.max(0, owed[k]));
    out[k] = take;
    left -= take;
  }
  out.excess = left;
  return out;
}

/**
 * A repayment for a batch: interest is posted up to today first, then the payment is split by the
 * facility's waterfall; any excess is held for the borrower. Repaid principal frees the limit. The
 * batch closes when nothing remains owed at the end of its cycle, or at once for a payoff. The whole
 * step runs with the batch locked (money-tx.ts): two instances repaying the same batch at once see
 * each other's principal, so it is never applied twice and the limit is never freed twice.
 * `reference` is unique per batch: a repeated reference is a 409, never a second payment.
 */
export async function repayBatch(
  db: Kysely<DB>,
  batchId: string,
  amountFen: number,
  reference: string,
  at: number,
  opts: { payoff?: boolean } = {},
) {
  return moneyTx(db, async (trx) => {
    const b = await lockedBatch(trx, batchId);
    if (b.status !== "open") throw ERR_LENDING_STATE(`batch ${batchId} is ${b.status}`);
    const ref = `repay:${batchId}:${reference}`;
    const dup = await trx
      .selectFrom("lending_ledger_tx")
      .select("id")
      .where("ref", "=", ref)
      .executeTakeFirst();
    if (dup)
      throw ERR_LENDING_DUPLICATE(`repayment reference '${reference}' was already used for batch ${batchId}`);
    const f = await trx
      .selectFrom("lending_facilities")
      .selectAll()
      .where("id", "=", b.facility_id)
      .executeTakeFirstOrThrow();
    const interestPosted = await postInterest(trx, batchId, at);
    const penaltyPosted = await postPenalty(trx, batchId, at);
    const bal = await balances(trx, f.id, batchId);
    const owed = {
      fees: bal.fee_receivable + bal.penalty_receivable,
      interest: bal.interest_receivable,
      principal: bal.loan_principal,
    };
    const a = allocate(amountFen, owed, JSON.parse(f.waterfall) as Waterfall);
    // Penalty is collected before ordinary fees (it is the older claim); both sit in the "fees" step.
    const penalty = Math.min(a.fees, bal.penalty_receivable);
    const lines: Line[] = [
      { account: "cash", amountFen },
      { account: "penalty_receivable", amountFen: -penalty },
      { account: "fee_receivable", amountFen: -(a.fees - penalty) },
      { account: "interest_receivable", amountFen: -a.interest },
      { account: "loan_principal", amountFen: -a.principal },
      { account: "borrower_credit", amountFen: -a.excess },
    ];
    await postTx(trx, {
      facilityId: f.id,
      batchId,
      kind: "repayment",
      ref,
      memo: `repayment ${reference}`,
      lines,
      at,
    });
    await adjustCommitted(trx, f.id, -a.principal, "repay");
    const settled = a.fees === owed.fees && a.interest === owed.interest && a.principal === owed.principal;
    const closed = settled && (opts.payoff === true || at >= Number(b.placed_at) + b.cycle_days * 86_400_000);
    if (opts.payoff && !settled)
      throw ERR_LENDING_PAYOFF(
        `payoff of batch ${batchId} needs ${owed.fees + owed.interest + owed.principal} fen today, got ${amountFen}`,
      );
    if (closed) await closeBatch(trx, b.facility_id, batchId, "closed", at);
    return { ...a, interestPosted, penaltyPosted, closed };
  });
}
