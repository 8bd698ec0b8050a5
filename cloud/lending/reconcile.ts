import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import { ERR_LENDING_STATE, ERR_PAYMENT_REPORT } from "./errors.ts";
import { correctTx } from "./ledger.ts";
import { lockRows, moneyTx } from "./money-tx.ts";

export type Outcome = { status: "settled" } | { status: "returned"; reason: string };

/**
 * Bank reconciliation of one exported order. Settled: the bank executed it (status exported/sent →
 * settled). Returned: the bank rejected or the supplier's bank sent it back, so the cash posting of
 * its export is reversed by a correcting transaction (the money is back in the lender's account and
 * owed to the supplier again), and the order is `returned` with the bank's reason until an officer
 * re-exports it (`reexportOrder`) after fixing the supplier's details.
 */
export async function reconcileOrderIn(trx: Kysely<DB>, orderId: string, o: Outcome, at: number) {
  await lockRows(trx, "lending_payment_orders", [orderId]);
  const order = await trx
    .selectFrom("lending_payment_orders")
    .selectAll()
    .where("id", "=", orderId)
    .executeTakeFirst();
  if (!order) throw ERR_NOT_FOUND(`no payment order ${orderId}`);
  if (order.status !== "exported" && order.status !== "sent")
    throw ERR_LENDING_STATE(
      `payment order ${orderId} is ${order.status}; only an exported order is reconciled`,
    );
  if (o.status === "settled") {
    await trx
      .updateTable("lending_payment_orders")
      .set({ status: "settled", settled_at: at })
      .where("id", "=", orderId)
      .execute();
    return { orderId, status: "settled" as const };
  }
  const settle = await trx
    .selectFrom("lending_ledger_tx")
    .select("id")
    .where("ref", "=", `settle:${orderId}:${order.attempts}`)
    .executeTakeFirst();
  if (settle) await correctTx(trx, settle.id, `returned by the bank: ${o.reason}`, at);
  await trx
    .updateTable("lending_payment_orders")
    .set({ status: "returned", return_reason: o.reason, settled_at: null })
    .where("id", "=", orderId)
    .execute();
  return { orderId, status: "returned" as const, reason: o.reason };
}

export const reconcileOrder = (db: Kysely<DB>, orderId: string, o: Outcome, at: number) =>
  moneyTx(db, (trx) => reconcileOrderIn(trx, orderId, o, at));

/** A returned order goes out again in the next payment file (a new attempt, booked once more on export). */
export async function reexportOrder(db: Kysely<DB>, orderId: string) {
  return moneyTx(db, async (trx) => {
    await lockRows(trx, "lending_payment_orders", [orderId]);
    const order = await trx
      .selectFrom("lending_payment_orders")
      .selectAll()
      .where("id", "=", orderId)
      .executeTakeFirst();
    if (!order) throw ERR_NOT_FOUND(`no payment order ${orderId}`);
    if (order.status !== "returned")
      throw ERR_LENDING_STATE(`payment order ${orderId} is ${order.status}, not returned`);
    await trx
      .updateTable("lending_payment_orders")
      .set({ status: "new", file_id: null, attempts: Number(order.attempts) + 1, last_error: null })
      .where("id", "=", orderId)
      .execute();
    return { orderId, status: "new", attempt: Number(order.attempts) + 1 };
  });
}

/**
 * Imports a bank's pain.002.001.03 customer payment status report: each TxInfAndSts names an
 * OrgnlEndToEndId with TxSts ACSC/ACCP/ACSP (settled) or RJCT (returned, StsRsnInf/Rsn/Cd as the
 * reason); a group status RJCT with no transactions returns every order of the original file. The
 * report is stored (append-only) with what it changed. Unknown EndToEndIds are a 400 and nothing changes.
 */
export async function importStatusReport(db: Kysely<DB>, xml: string, at: number) {
  const orgMsg = /<OrgnlMsgId>([^<]+)<\/OrgnlMsgId>/.exec(xml)?.[1]?.trim();
  if (!/<CstmrPmtStsRpt>/.test(xml) || !orgMsg)
    throw ERR_PAYMENT_REPORT("not a pain.002 status report (CstmrPmtStsRpt with OrgnlMsgId)");
  const groupSts = /<OrgnlGrpInfAndSts>[\s\S]*?<GrpSts>([A-Z]{4})<\/GrpSts>/.exec(xml)?.[1];
  const txs = [...xml.matchAll(/<TxInfAndSts>([\s\S]*?)<\/TxInfAndSts>/g)].map((m) => ({
    e2e: /<OrgnlEndToEndId>([^<]+)<\/OrgnlEndToEndId>/.exec(m[1]!)?.[1]?.trim(),
    sts: /<TxSts>([A-Z]{4})<\/TxSts>/.exec(m[1]!)?.[1],
    reason: /<Rsn>\s*<Cd>([^<]+)<\/Cd>/.exec(m[1]!)?.[1] ?? /<AddtlInf>([^<]+)<\/AddtlInf>/.exec(m[1]!)?.[1],
  }));
  return moneyTx(db, async (trx) => {
    const file = await trx
      .selectFrom("lending_payment_files")
      .select(["id", "status"])
      .where("id", "=", orgMsg)
      .executeTakeFirst();
    if (!file)
      throw ERR_PAYMENT_REPORT(`the report answers payment file ${orgMsg}, which was never exported`);
    const orders = await trx
      .selectFrom("lending_payment_orders")
      .select(["id", "end_to_end_id", "status"])
      .where("file_id", "=", orgMsg)
      .execute();
    const byE2e = new Map(orders.map((o) => [o.end_to_end_id, o]));
    const todo: Array<{ id: string; outcome: Outcome }> = [];
    if (txs.length === 0 && groupSts === "RJCT") {
      for (const o of orders)
        todo.push({ id: o.id, outcome: { status: "returned", reason: "file rejected (GrpSts RJCT)" } });
    }
    for (const t of txs) {
      const o = t.e2e ? byE2e.get(t.e2e) : undefined;
      if (!o)
        throw ERR_PAYMENT_REPORT(`OrgnlEndToEndId ${t.e2e ?? "(missing)"} is not an order of file ${orgMsg}`);
      if (t.sts === "RJCT")
        todo.push({ id: o.id, outcome: { status: "returned", reason: t.reason ?? "RJCT" } });
      else if (t.sts === "ACSC" || t.sts === "ACCP" || t.sts === "ACSP")
        todo.push({ id: o.id, outcome: { status: "settled" } });
      else if (t.sts !== "PDNG") throw ERR_PAYMENT_REPORT(`unknown TxSts '${t.sts ?? ""}' for ${t.e2e}`);
    }
    const results = [];
    for (const t of todo) {
      const cur = orders.find((o) => o.id === t.id);
      // A report may repeat what an earlier one said: an order already settled or returned is left as it is.
      if (cur?.status === "settled" || cur?.status === "returned") continue;
      results.push(await reconcileOrderIn(trx, t.id, t.outcome, at));
    }
    await trx
      .insertInto("lending_bank_reports")
      .values({
        id: randomUUID(),
        kind: "pain.002",
        body: xml,
        result: JSON.stringify(results),
        created_at: at,
      })
      .execute();
    return { fileId: orgMsg, groupStatus: groupSts ?? null, changed: results };
  });
}
