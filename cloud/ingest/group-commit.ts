import { sql, type Transaction } from "kysely";
import { splitGeneration } from "../../sync/generation.ts";
import type { Db } from "../db/connect.ts";
import type { DB } from "../db/schema.ts";
import { type CommitResult, commitSegments, commitSegmentsIn } from "./evidence-store.ts";
import type { VerifiedSegment } from "./verify.ts";

export interface GroupItem {
  device: string;
  segments: VerifiedSegment[];
}

export type GroupOutcome = { ok: true; result: CommitResult } | { ok: false; error: unknown };

/**
 * Group commit: many devices' verified batches in one database transaction, each behind its own
 * savepoint, so one batch's conflict (BL_SEQ_CONFLICT) rolls back that batch alone and the others
 * still commit. A transaction costs a round trip and a durable flush (fsync on SQLite with
 * synchronous=FULL, a WAL flush on PostgreSQL); sharing it is what makes small batches cheap.
 *
 * Items are taken in device order, and each batch locks its streams in name order, so two
 * instances committing overlapping groups take row locks in the same order. If the transaction as
 * a whole fails anyway (a deadlock, a serialisation failure, a lost connection), every item is
 * committed again on its own: each outcome is still exactly that of a single commit. Outcomes are
 * returned in the order of `items`; nothing resolves before its commit is durable.
 */
export async function commitGroup(db: Db, items: GroupItem[], now: number): Promise<GroupOutcome[]> {
  if (items.length === 0) return [];
  if (items.length === 1) return [await single(db, items[0]!, now)];
  const order = items.map((_, i) => i).sort((a, b) => cmp(items[a]!.device, items[b]!.device));
  const out: GroupOutcome[] = new Array(items.length);
  try {
    await db.kysely.transaction().execute(async (trx) => {
      if (db.dialect === "postgres") await lockAll(trx, items);
      for (const [n, i] of order.entries()) {
        const it = items[i]!;
        const sp = sql.raw(`bl_g${n}`);
        await sql`SAVEPOINT ${sp}`.execute(trx);
        try {
          out[i] = { ok: true, result: await commitSegmentsIn(db, trx, it.device, it.segments, now) };
          await sql`RELEASE SAVEPOINT ${sp}`.execute(trx);
        } catch (error) {
          // A deadlock or serialisation failure is the database's, not the batch's: start over.
          if (isTransient(error)) throw error;
          await sql`ROLLBACK TO SAVEPOINT ${sp}`.execute(trx);
          await sql`RELEASE SAVEPOINT ${sp}`.execute(trx);
          out[i] = { ok: false, error };
        }
      }
    });
    return out;
  } catch {
    // Nothing of the group was committed: commit each batch alone, in the same order.
    const alone: GroupOutcome[] = new Array(items.length);
    for (const i of order) alone[i] = await single(db, items[i]!, now);
    return alone;
  }
}

/**
 * The stream rows every batch of the group will lock, locked first and in (device, stream) order:
 * two instances committing overlapping groups then wait for each other instead of deadlocking.
 * Rows not there yet are created by their batch, inside its savepoint.
 */
async function lockAll(trx: Transaction<DB>, items: GroupItem[]): Promise<void> {
  const pairs = new Map<string, [string, string]>();
  for (const it of items)
    for (const s of it.segments) {
      const name = splitGeneration(s.stream).name;
      pairs.set(`${it.device}\n${name}`, [it.device, name]);
    }
  const devices = [...pairs.values()].map((p) => p[0]);
  const streams = [...pairs.values()].map((p) => p[1]);
  await sql`SELECT 1 FROM streams WHERE (device, stream) IN (SELECT * FROM unnest(${devices}::text[], ${streams}::text[]))
    ORDER BY device, stream FOR UPDATE`.execute(trx);
}

/** One batch in its own transaction, tried again (a few times) after a deadlock or serialisation failure. */
async function single(db: Db, it: GroupItem, now: number): Promise<GroupOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, result: await commitSegments(db, it.device, it.segments, now) };
    } catch (error) {
      if (isTransient(error) && attempt < 5) {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
        continue;
      }
      return { ok: false, error };
    }
  }
}

/** PostgreSQL deadlock_detected / serialization_failure, SQLite busy: worth another try. */
export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "40P01" || code === "40001" || code === "SQLITE_BUSY";
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
