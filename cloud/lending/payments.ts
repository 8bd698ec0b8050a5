import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_PAYMENT_NOTHING } from "./errors.ts";
import { postTx } from "./ledger.ts";
import { buildPain001, type PaymentInstruction } from "./pain001.ts";

/**
 * Exports every new payment order into one pain.001 file. A single UPDATE claims the orders for
 * this file (status new → exported), so two concurrent exports never put an order in two files;
 * each exported order books the payment to the supplier (supplier_payable → cash) under the unique
 * ref "settle:<order>". The stored XML can be fetched again by file id.
 */
export async function exportPaymentFile(
  db: Kysely<DB>,
  opts: { at: number; executionDate?: string; initiatingParty?: string },
) {
  return db.transaction().execute(async (trx) => {
    const fileId = `BLPF-${new Date(opts.at).toISOString().slice(0, 10).replace(/-/g, "")}-${randomUUID().slice(0, 8)}`;
    await trx
      .updateTable("lending_payment_orders")
      .set({ status: "exported", file_id: fileId })
      .where("status", "=", "new")
      .execute();
    const orders = await trx
      .selectFrom("lending_payment_orders as o")
      .innerJoin("lending_suppliers as s", "s.id", "o.supplier_id")
      .innerJoin("lending_facilities as f", "f.id", "o.facility_id")
      .innerJoin("lending_tranches as t", "t.id", "o.tranche_id")
      .select([
        "o.id",
        "o.amount_fen",
        "o.currency",
        "o.end_to_end_id",
        "o.facility_id",
        "o.tranche_id",
        "t.batch_id",
        "t.seq",
        "s.name as s_name",
        "s.account as s_account",
        "s.bic as s_bic",
        "f.debtor_name",
        "f.debtor_account",
        "f.debtor_bic",
      ])
      .where("o.file_id", "=", fileId)
      .orderBy("o.created_at")
      .execute();
    if (orders.length === 0) throw ERR_PAYMENT_NOTHING("no new payment orders to export");
    const executionDate = opts.executionDate ?? new Date(opts.at).toISOString().slice(0, 10);
    const byFacility = new Map<string, PaymentInstruction>();
    for (const o of orders) {
      const key = `${o.facility_id}:${o.currency}`;
      let pi = byFacility.get(key);
      if (!pi) {
        pi = {
          id: `${fileId}-${byFacility.size + 1}`,
          debtorName: o.debtor_name,
          debtorAccount: o.debtor_account,
          debtorBic: o.debtor_bic,
          currency: o.currency,
          executionDate,
          transfers: [],
        };
        byFacility.set(key, pi);
      }
      pi.transfers.push({
        endToEndId: o.end_to_end_id,
        instrId: o.end_to_end_id,
        amountFen: Number(o.amount_fen),
        currency: o.currency,
        creditorName: o.s_name,
        creditorAccount: o.s_account,
        creditorBic: o.s_bic,
        remittance: `Feed for batch ${o.batch_id} tranche ${o.seq}`,
      });
      await postTx(trx, {
        facilityId: o.facility_id,
        batchId: o.batch_id,
        kind: "settlement",
        ref: `settle:${o.id}`,
        memo: `paid to ${o.s_name} in ${fileId}`,
        lines: [
          { account: "supplier_payable", amountFen: Number(o.amount_fen) },
          { account: "cash", amountFen: -Number(o.amount_fen) },
        ],
        at: opts.at,
      });
    }
    const xml = buildPain001({
      msgId: fileId,
      createdAt: new Date(opts.at),
      initiatingParty: opts.initiatingParty ?? "barnlink lender",
      instructions: [...byFacility.values()],
    });
    const ctrl = orders.reduce((s, o) => s + Number(o.amount_fen), 0);
    await trx
      .insertInto("lending_payment_files")
      .values({ id: fileId, xml, n: orders.length, ctrl_sum_fen: ctrl, created_at: opts.at })
      .execute();
    return { fileId, xml, count: orders.length, ctrlSumFen: ctrl };
  });
}
