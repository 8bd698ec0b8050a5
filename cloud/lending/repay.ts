import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { postInterest } from "./accrual.ts";
import { ERR_LENDING_STATE } from "./errors.ts";
import { balances, type Line, postTx } from "./ledger.ts";
import { adjustCommitted } from "./limit.ts";
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
 * batch closes when nothing remains owed. `reference` makes a repeated repayment a no-op failure.
 */
export async function repayBatch(
  db: Kysely<DB>,
  batchId: string,
  amountFen: number,
  reference: string,
  at: number,
) {
  return db.transaction().execute(async (trx) => {
    const b = await trx
      .selectFrom("lending_batches")
      .selectAll()
      .where("id", "=", batchId)
      .executeTakeFirstOrThrow();
    if (b.status !== "open") throw ERR_LENDING_STATE(`batch ${batchId} is ${b.status}`);
    const f = await trx
      .selectFrom("lending_facilities")
      .selectAll()
      .where("id", "=", b.facility_id)
      .executeTakeFirstOrThrow();
    const interestPosted = await postInterest(trx, batchId, at);
    const bal = await balances(trx, f.id, batchId);
    const owed = {
      fees: bal.fee_receivable,
      interest: bal.interest_receivable,
      principal: bal.loan_principal,
    };
    const a = allocate(amountFen, owed, JSON.parse(f.waterfall) as Waterfall);
    const lines: Line[] = [
      { account: "cash", amountFen },
      { account: "fee_receivable", amountFen: -a.fees },
      { account: "interest_receivable", amountFen: -a.interest },
      { account: "loan_principal", amountFen: -a.principal },
      { account: "borrower_credit", amountFen: -a.excess },
    ];
    await postTx(trx, {
      facilityId: f.id,
      batchId,
      kind: "repayment",
      ref: `repay:${batchId}:${reference}`,
      memo: `repayment ${reference}`,
      lines,
      at,
    });
    await adjustCommitted(trx, f.id, -a.principal, "repay");
    const settled = a.fees === owed.fees && a.interest === owed.interest && a.principal === owed.principal;
    const pending = await trx
      .selectFrom("lending_tranches")
      .select("id")
      .where("batch_id", "=", batchId)
      .where("status", "in", ["planned", "reserved"])
      .execute();
    const closed = settled && at >= Number(b.placed_at) + b.cycle_days * 86_400_000;
    if (closed) {
      for (const p of pending) {
        await trx
          .updateTable("lending_tranches")
          .set({ status: "cancelled", decided_at: at })
          .where("id", "=", p.id)
          .where("status", "=", "planned")
          .execute();
      }
      await trx
        .updateTable("lending_batches")
        .set({ status: "closed", closed_at: at })
        .where("id", "=", batchId)
        .execute();
    }
    return { ...a, interestPosted, closed };
  });
}
