import { createHash, randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { accrue } from "./accrual.ts";
import type { Decision } from "./decision-types.ts";
import { ERR_LENDING_STATE, ERR_LENDING_TERM } from "./errors.ts";
import { postReleaseFees } from "./fees.ts";
import { DAY_MS } from "./interest.ts";
import { postTx, type TxInput } from "./ledger.ts";
import { postReservation, voidReservation } from "./limit.ts";
import { lockRows, moneyTx } from "./money-tx.ts";

export interface ApplyInput {
  trancheId: string;
  decision: Decision;
  /** "engine" or "override:<id>". */
  by: string;
  /** The tranche states this decision may move from; anything else means someone else decided first. */
  from: string[];
  at: number;
}

/**
 * Applies a decision in one database transaction. The first statement is a conditional UPDATE of
 * the tranche's status, so of two instances deciding the same tranche exactly one changes a row;
 * the other gets `applied: false` and writes nothing. Behind it, unique keys (ledger ref
 * "release:<tranche>", one payment order per tranche) make a second release fail even if the state
 * check were wrong. A tranche is paid at most once.
 */
export async function applyDecision(
  db: Kysely<DB>,
  inp: ApplyInput,
): Promise<{ applied: boolean; orderId?: string }> {
  return moneyTx(db, (trx) => applyDecisionIn(trx, inp));
}

/** applyDecision inside the caller's moneyTx (an override approval claims the override in the same transaction). */
export async function applyDecisionIn(
  trx: Kysely<DB>,
  inp: ApplyInput,
): Promise<{ applied: boolean; orderId?: string }> {
  const { decision: d, at } = inp;
  const release = d.outcome !== "hold" && d.amountFen > 0;
  {
    const t0 = await trx
      .selectFrom("lending_tranches")
      .select("batch_id")
      .where("id", "=", inp.trancheId)
      .executeTakeFirstOrThrow();
    // Lock order batch → tranche → facility, as every money write (money-tx.ts).
    await lockRows(trx, "lending_batches", [t0.batch_id]);
    await lockRows(trx, "lending_tranches", [inp.trancheId]);
    const t = await trx
      .selectFrom("lending_tranches")
      .selectAll()
      .where("id", "=", inp.trancheId)
      .executeTakeFirstOrThrow();
    const b = await trx
      .selectFrom("lending_batches")
      .selectAll()
      .where("id", "=", t.batch_id)
      .executeTakeFirstOrThrow();
    const f = await trx
      .selectFrom("lending_facilities")
      .selectAll()
      .where("id", "=", b.facility_id)
      .executeTakeFirstOrThrow();
    const maturity = Math.min(at + f.max_drawdown_days * DAY_MS, Number(f.term_end));
    if (release && at > Number(f.term_end))
      throw ERR_LENDING_TERM(`facility ${f.id} term ended; no drawdowns after it`);
    const claimed = await trx
      .updateTable("lending_tranches")
      .set({
        status: release ? "released" : "held",
        released_fen: release ? d.amountFen : 0,
        released_kg: release ? d.kg : 0,
        released_at: release ? at : null,
        maturity_at: release ? maturity : null,
        decided_at: at,
      })
      .where("id", "=", t.id)
      .where("status", "in", inp.from)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return { applied: false };
    if (release && b.status !== "open")
      throw ERR_LENDING_STATE(`batch ${b.id} is ${b.status}; nothing is released`);
    await trx
      .insertInto("lending_decisions")
      .values({
        id: randomUUID(),
        tranche_id: t.id,
        outcome: d.outcome,
        amount_fen: release ? d.amountFen : 0,
        reasons: JSON.stringify(d.reasons),
        gates: JSON.stringify(d.gates),
        decided_by: inp.by,
        decided_at: at,
      })
      .execute();
    if (!release) {
      await voidReservation(trx, f.id, t.id, at);
      return { applied: true };
    }
    // Interest up to today runs on the old balance; the new drawdown earns from today.
    await accrue(trx, b.id, at);
    await postReservation(trx, f.id, t.id, d.amountFen, at);
    await postTx(trx, releaseTx(inp, t, b));
    await postReleaseFees(trx, f, b.id, t.id, d.amountFen, at);
    const orderId = randomUUID();
    await trx
      .insertInto("lending_payment_orders")
      .values(paymentOrder(orderId, inp, t, b, f))
      .execute();
    return { applied: true, orderId };
  }
}

/** The release's ledger transaction: one tranche's feed paid to its supplier (alone or in a set). */
export function releaseTx(
  inp: ApplyInput,
  t: { id: string; seq: number },
  b: { id: string; facility_id: string; supplier_id: string },
): TxInput {
  const d = inp.decision;
  return {
    facilityId: b.facility_id,
    batchId: b.id,
    kind: "release",
    ref: `release:${t.id}`,
    memo: `tranche ${t.seq} of batch ${b.id}: ${d.kg} kg of feed paid to supplier ${b.supplier_id} (${d.outcome})`,
    lines: [
      { account: "loan_principal", amountFen: d.amountFen },
      { account: "supplier_payable", amountFen: -d.amountFen },
    ],
    at: inp.at,
  };
}

/** The payment order of a release: the supplier's money for one tranche, "new" until exported. */
export function paymentOrder(
  id: string,
  inp: ApplyInput,
  t: { id: string; seq: number },
  b: { supplier_id: string },
  f: { id: string; currency: string },
) {
  return {
    id,
    tranche_id: t.id,
    facility_id: f.id,
    supplier_id: b.supplier_id,
    amount_fen: inp.decision.amountFen,
    currency: f.currency,
    // EndToEndId travels with the money to the supplier's bank: the tranche id makes it traceable.
    end_to_end_id: `BL${createHash("sha256").update(t.id).digest("hex").slice(0, 24)}T${t.seq}`,
    status: "new" as const,
    file_id: null,
    attempts: 0,
    created_at: inp.at,
    sent_at: null,
  };
}
