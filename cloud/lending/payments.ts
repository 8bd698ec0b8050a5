import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_PAYMENT_NOTHING, ERR_PAYMENT_SCHEMA } from "./errors.ts";
import { postTx } from "./ledger.ts";
import { moneyTx } from "./money-tx.ts";
import { buildPain001, type PaymentInstruction } from "./pain001.ts";
import { validatePain001 } from "./xsd-validate.ts";

/**
 * Exports every new payment order into one pain.001 file. The file is built and validated against
 * the ISO 20022 schema (shipped with the product) before anything changes: a file that fails is
 * stored as `rejected` with the schema's reason, its orders stay `new` carrying that reason, and no
 * cash is booked (the route answers 422). A valid file claims its orders (new → exported) with one
 * conditional UPDATE, so two concurrent exports never put an order in two files, and each order
 * books the payment to the supplier (supplier_payable → cash) under the unique ref
 * "settle:<order>:<attempt>" (a returned order re-exported is booked again, once).
 */
export async function exportPaymentFile(
  db: Kysely<DB>,
  opts: { at: number; executionDate?: string; initiatingParty?: string },
) {
  const r = await moneyTx(db, async (trx) => {
    const fileId = `BLPF-${new Date(opts.at).toISOString().slice(0, 10).replace(/-/g, "")}-${randomUUID().slice(0, 8)}`;
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
        "o.attempts",
        "t.batch_id",
        "t.seq",
        "s.name as s_name",
        "s.account as s_account",
        "s.bic as s_bic",
        "s.cnaps as s_cnaps",
        "f.debtor_name",
        "f.debtor_account",
        "f.debtor_bic",
      ])
      .where("o.status", "=", "new")
      .orderBy("o.created_at")
      .orderBy("o.id")
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
        creditorCnaps: o.s_cnaps,
        remittance: `Feed for batch ${o.batch_id} tranche ${o.seq}`,
      });
    }
    const xml = buildPain001({
      msgId: fileId,
      createdAt: new Date(opts.at),
      initiatingParty: opts.initiatingParty ?? "barnlink lender",
      instructions: [...byFacility.values()],
    });
    const ctrl = orders.reduce((s, o) => s + Number(o.amount_fen), 0);
    const errors = await validatePain001(xml);
    const ids = orders.map((o) => o.id);
    if (errors.length > 0) {
      const reason = `ISO 20022 schema: ${errors.slice(0, 5).join("; ")}`.slice(0, 2000);
      await trx
        .insertInto("lending_payment_files")
        .values({
          id: fileId,
          xml,
          n: orders.length,
          ctrl_sum_fen: ctrl,
          created_at: opts.at,
          status: "rejected",
          reason,
        })
        .execute();
      await trx
        .updateTable("lending_payment_orders")
        .set({ last_error: `${fileId}: ${reason}` })
        .where("id", "in", ids)
        .where("status", "=", "new")
        .execute();
      return { rejected: true as const, fileId, reason, errors };
    }
    const claimed = await trx
      .updateTable("lending_payment_orders")
      .set({ status: "exported", file_id: fileId, sent_at: opts.at, last_error: null })
      .where("id", "in", ids)
      .where("status", "=", "new")
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== ids.length)
      throw ERR_PAYMENT_NOTHING("orders were exported concurrently; retry");
    for (const o of orders) {
      await postTx(trx, {
        facilityId: o.facility_id,
        batchId: o.batch_id,
        kind: "settlement",
        ref: `settle:${o.id}:${o.attempts}`,
        memo: `paid to ${o.s_name} in ${fileId}`,
        lines: [
          { account: "supplier_payable", amountFen: Number(o.amount_fen) },
          { account: "cash", amountFen: -Number(o.amount_fen) },
        ],
        at: opts.at,
      });
    }
    await trx
      .insertInto("lending_payment_files")
      .values({
        id: fileId,
        xml,
        n: orders.length,
        ctrl_sum_fen: ctrl,
        created_at: opts.at,
        status: "exported",
        reason: null,
      })
      .execute();
    return { rejected: false as const, fileId, xml, count: orders.length, ctrlSumFen: ctrl };
  });
  if (r.rejected)
    throw ERR_PAYMENT_SCHEMA(
      `payment file ${r.fileId} failed the pain.001.001.03 schema; no order was exported: ${r.reason}`,
      {
        fileId: r.fileId,
        errors: r.errors,
      },
    );
  return r;
}
