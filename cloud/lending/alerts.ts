import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { CloudContext } from "../context.ts";
import type { DB } from "../db/schema.ts";
import { CENSUS_INTERVALS } from "./thresholds.ts";

export interface AlertInput {
  facilityId: string;
  batchId: string | null;
  kind: string;
  severity: "info" | "warning" | "critical";
  message: string;
  detail?: unknown;
  dedupe: string;
  at: number;
}

/** The row an alert is stored as. */
export const alertRow = (a: AlertInput) => ({
  id: randomUUID(),
  facility_id: a.facilityId,
  batch_id: a.batchId,
  kind: a.kind,
  severity: a.severity,
  message: a.message,
  detail: JSON.stringify(a.detail ?? {}),
  dedupe: a.dedupe,
  created_at: a.at,
  acked_by: null,
  acked_at: null,
});

/** Raises an alert once per `dedupe` key (a condition per batch per day): ticks do not repeat it. */
export async function raiseAlert(db: Kysely<DB>, a: AlertInput): Promise<boolean> {
  const r = await db
    .insertInto("lending_alerts")
    .values(alertRow(a))
    .onConflict((oc) => oc.column("dedupe").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Raises several alerts in one statement, each once per `dedupe` key (the first of a key wins, as raiseAlert one by one). */
export async function raiseAlerts(db: Kysely<DB>, as: AlertInput[]): Promise<void> {
  if (as.length === 0) return;
  await db
    .insertInto("lending_alerts")
    .values(as.map(alertRow))
    .onConflict((oc) => oc.column("dedupe").doNothing())
    .execute();
}

/**
 * Evidence demands rise with risk, as a lender would send inspectors more often: each failed gate or
 * LTV alert moves the batch one level up (census every 24 h → 6 h → 2 h) and tells the batch's
 * gateways so. The level only rises here; the conditional update makes one instance send it.
 */
export async function raiseEvidenceDemand(
  ctx: CloudContext,
  batchId: string,
  reason: string,
  at: number,
): Promise<number | null> {
  const db = ctx.db.kysely;
  const b = await db
    .selectFrom("lending_batches")
    .select(["evidence_level", "devices"])
    .where("id", "=", batchId)
    .executeTakeFirstOrThrow();
  const level = Number(b.evidence_level);
  if (level >= CENSUS_INTERVALS.length - 1) return null;
  const next = level + 1;
  const r = await db
    .updateTable("lending_batches")
    .set({ evidence_level: next })
    .where("id", "=", batchId)
    .where("evidence_level", "=", level)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return null;
  const args = { every: CENSUS_INTERVALS[next]! };
  for (const device of JSON.parse(b.devices) as string[]) {
    await db
      .insertInto("lending_demands")
      .values({
        id: randomUUID(),
        batch_id: batchId,
        device,
        name: "census.interval",
        args: JSON.stringify(args),
        level: next,
        reason,
        sent_at: at,
      })
      .execute();
    // A device that is offline gets the command when it reconnects (the broker queues it); a failed
    // publish is logged, and the demand row still records that the lender asked.
    await ctx.sendCommand(device, "census.interval", args).catch((e: unknown) => {
      ctx.log.warn({ err: e, device, batchId }, "lending: census.interval command failed");
    });
  }
  return next;
}
