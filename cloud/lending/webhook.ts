import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_PAYMENT_WEBHOOK } from "./errors.ts";

export interface WebhookOptions {
  url: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  retries?: number;
  backoffMs?: number;
  token?: string;
}

/**
 * Posts exported payment orders to a bank webhook, one request per order, with the order's
 * EndToEndId as the Idempotency-Key so the bank can drop repeats. Network errors and 5xx/429 are
 * retried with exponential backoff; a 2xx marks the order sent. Orders already sent are skipped.
 */
export async function postOrdersToBank(
  db: Kysely<DB>,
  fileId: string,
  o: WebhookOptions,
  now: () => number = Date.now,
) {
  const f = o.fetch ?? fetch;
  const orders = await db
    .selectFrom("lending_payment_orders")
    .selectAll()
    .where("file_id", "=", fileId)
    .where("status", "=", "exported")
    .execute();
  let sent = 0;
  for (const order of orders) {
    const body = JSON.stringify({
      endToEndId: order.end_to_end_id,
      amountFen: Number(order.amount_fen),
      currency: order.currency,
      supplierId: order.supplier_id,
      fileId,
    });
    let lastErr = "";
    let ok = false;
    for (let attempt = 0; attempt <= (o.retries ?? 4) && !ok; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (o.backoffMs ?? 500) * 2 ** (attempt - 1)));
      await db
        .updateTable("lending_payment_orders")
        .set({ attempts: order.attempts + attempt + 1 })
        .where("id", "=", order.id)
        .execute();
      try {
        const res = await f(o.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": order.end_to_end_id,
            ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          },
          body,
        });
        if (res.ok) ok = true;
        else if (res.status < 500 && res.status !== 429)
          throw ERR_PAYMENT_WEBHOOK(`bank refused ${order.end_to_end_id}: HTTP ${res.status}`);
        else lastErr = `HTTP ${res.status}`;
      } catch (e) {
        if (ERR_PAYMENT_WEBHOOK.is(e)) throw e;
        lastErr = (e as Error).message;
      }
    }
    if (!ok)
      throw ERR_PAYMENT_WEBHOOK(`bank webhook failed for ${order.end_to_end_id} after retries: ${lastErr}`);
    await db
      .updateTable("lending_payment_orders")
      .set({ status: "sent", sent_at: now() })
      .where("id", "=", order.id)
      .execute();
    sent++;
  }
  return { sent };
}
