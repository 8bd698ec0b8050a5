import { sql } from "kysely";
import { splitGeneration } from "../../sync/generation.ts";
import type { Db } from "../db/connect.ts";
import { type CommitResult, commitSegments, commitSegmentsIn } from "./evidence-store.ts";
import { planAppends, writeAppends } from "./group-append.ts";
import { lockGroupStreams, pairKey } from "./stream-rows.ts";
import type { VerifiedSegment } from "./verify.ts";

export interface GroupItem {
  device: string;
  segments: VerifiedSegment[];
}

export type GroupOutcome = { ok: true; result: CommitResult } | { ok: false; error: unknown };

/**
 * Group commit: many devices' batches in one database transaction, and each batch's outcome exactly
 * that of committing it alone. A transaction costs a round trip and a durable flush (fsync on
 * SQLite with synchronous=FULL, a WAL flush on PostgreSQL); sharing it is what makes small batches
 * cheap.
 *
 * Optimistic first: the whole group in one transaction without savepoints (on PostgreSQL every
 * stream row of the group locked and read in one statement, and the devices that only append
 * written in set form: one INSERT and one UPDATE for all of them, group-append.ts). Almost every
 * group commits so. If any
 * batch fails (BL_SEQ_CONFLICT, BL_STALE_GENERATION, anything), that transaction is rolled back
 * whole and the group runs again the careful way: each batch behind its own savepoint, so one
 * batch's failure rolls back that batch alone and the others still commit. If that transaction
 * fails as a whole (a deadlock, a serialisation failure, a lost connection), every item is committed
 * again on its own. Items are taken in device order, and each batch locks its streams in name order,
 * so two instances committing overlapping groups take row locks in the same order. Outcomes are
 * returned in the order of `items`; nothing resolves before its commit is durable.
 */
export async function commitGroup(
  db: Db,
  items: GroupItem[],
  now: number,
  o: { optimistic?: boolean; setForm?: boolean } = {},
): Promise<GroupOutcome[]> {
  if (items.length === 0) return [];
  if (items.length === 1) return [await single(db, items[0]!, now)];
  const order = items.map((_, i) => i).sort((a, b) => cmp(items[a]!.device, items[b]!.device));
  if (o.optimistic ?? true) {
    const fast = await optimistic(db, items, order, now, o.setForm ?? true);
    if (fast) return fast;
  }
  const out: GroupOutcome[] = new Array(items.length);
  try {
    await db.kysely.transaction().execute(async (trx) => {
      const pre = db.dialect === "postgres" ? await lockGroupStreams(trx, pairsOf(items)) : undefined;
      for (const [n, i] of order.entries()) {
        const it = items[i]!;
        const sp = sql.raw(`bl_g${n}`);
        await sql`SAVEPOINT ${sp}`.execute(trx);
        try {
          out[i] = {
            ok: true,
            result: await commitSegmentsIn(db, trx, it.device, it.segments, now, { pre }),
          };
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

/** Thrown inside the optimistic transaction to roll it back: some batch of the group failed. */
class BatchFailed extends Error {}

/**
 * The group in one transaction, no savepoints: every outcome if every batch committed, or
 * undefined (and nothing of the group committed) if any failed or the transaction did.
 */
async function optimistic(
  db: Db,
  items: GroupItem[],
  order: number[],
  now: number,
  setForm: boolean,
): Promise<GroupOutcome[] | undefined> {
  const out: GroupOutcome[] = new Array(items.length);
  try {
    await db.kysely.transaction().execute(async (trx) => {
      const pre =
        db.dialect === "postgres" ? await lockGroupStreams(trx, pairsOf(items), setForm) : undefined;
      // PostgreSQL: every device that only appends, in set form (group-append.ts); the rest one by one.
      const plan = pre && setForm ? planAppends(items, order, pre, now) : undefined;
      if (plan) {
        await writeAppends(db, trx, plan);
        for (const [i, result] of plan.done) out[i] = { ok: true, result };
      }
      for (const i of order) {
        if (plan?.done.has(i)) continue;
        const it = items[i]!;
        try {
          out[i] = {
            ok: true,
            result: await commitSegmentsIn(db, trx, it.device, it.segments, now, { pre }),
          };
        } catch {
          throw new BatchFailed();
        }
      }
    });
    return out;
  } catch {
    return undefined;
  }
}

/** Every (device, stream name) the group writes, once each. */
function pairsOf(items: GroupItem[]): Array<[string, string]> {
  const pairs = new Map<string, [string, string]>();
  for (const it of items)
    for (const s of it.segments) {
      const name = splitGeneration(s.stream).name;
      pairs.set(pairKey(it.device, name), [it.device, name]);
    }
  return [...pairs.values()];
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
