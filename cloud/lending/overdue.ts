import type { Kysely } from "kysely";
import type { DB } from "../db/schema.ts";
import { addLocalDays, localDays } from "./local-day.ts";

type Q = Kysely<DB>;

export interface Overdue {
  /** Principal of drawdowns past maturity + grace, after repayments applied oldest drawdown first. */
  overdueFen: number;
  /** Local calendar days since the oldest unpaid drawdown fell due (after grace); 0 when none. */
  daysPastDue: number;
  /** When the oldest unpaid drawdown falls (or fell) due, including grace; null when none is unpaid. */
  nextDueAt: number | null;
}

/**
 * Due dates per drawdown: each released tranche is due at its maturity (release + the facility's
 * maximum drawdown days, within the term). Principal repaid or written off is applied to the
 * oldest drawdown first (FIFO), as Fineract applies a multi-tranche loan's repayments.
 */
export async function overdueOf(
  q: Q,
  batchId: string,
  outstandingFen: number,
  at: number,
  tz: string,
  graceDays: number,
): Promise<Overdue> {
  const ts = await q
    .selectFrom("lending_tranches")
    .select(["released_fen", "released_at", "maturity_at"])
    .where("batch_id", "=", batchId)
    .where("status", "=", "released")
    .orderBy("released_at")
    .orderBy("seq")
    .execute();
  const released = ts.reduce((s, t) => s + Number(t.released_fen), 0);
  let repaid = Math.max(0, released - outstandingFen);
  let overdueFen = 0;
  let oldestDue: number | null = null;
  for (const t of ts) {
    const left = Math.max(0, Number(t.released_fen) - repaid);
    repaid = Math.max(0, repaid - Number(t.released_fen));
    if (left === 0 || t.maturity_at === null) continue;
    const due = addLocalDays(Number(t.maturity_at), graceDays, tz);
    if (oldestDue === null || due < oldestDue) oldestDue = due;
    if (due <= at) overdueFen += left;
  }
  const daysPastDue = oldestDue !== null && oldestDue <= at ? Math.max(1, localDays(oldestDue, at, tz)) : 0;
  return { overdueFen, daysPastDue, nextDueAt: oldestDue };
}
