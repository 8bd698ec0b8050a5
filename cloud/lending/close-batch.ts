import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { voidReservation } from "./limit.ts";

/**
 * Ends a batch (repaid, paid off or written off): tranches not yet released are cancelled and their
 * reservations return to the limit, and the batch's barn and devices are free for a new batch.
 * Call inside moneyTx with the batch locked.
 */
export async function closeBatch(
  trx: Kysely<DB>,
  facilityId: string,
  batchId: string,
  status: "closed" | "written_off",
  at: number,
): Promise<void> {
  const pending = await trx
    .selectFrom("lending_tranches")
    .select(["id", "status"])
    .where("batch_id", "=", batchId)
    .where("status", "in", ["planned", "reserved"])
    .execute();
  for (const p of pending) {
    await trx
      .updateTable("lending_tranches")
      .set({ status: "cancelled", decided_at: at })
      .where("id", "=", p.id)
      .where("status", "in", ["planned", "reserved"])
      .execute();
    if (p.status === "reserved") await voidReservation(trx, facilityId, p.id, at);
  }
  await trx
    .updateTable("lending_batches")
    .set(status === "closed" ? { status, closed_at: at } : { status, closed_at: at, written_off_at: at })
    .where("id", "=", batchId)
    .execute();
  await trx.deleteFrom("lending_batch_claims").where("batch_id", "=", batchId).execute();
}
