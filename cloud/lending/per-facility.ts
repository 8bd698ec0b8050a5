import type { CloudContext } from "../context.ts";
import { isPostgres } from "./money-tx.ts";

/** Facilities whose money transactions run side by side on PostgreSQL (SQLite has one writer). */
export const FACILITY_PARALLELISM = 4;

/**
 * Runs `fn` on each item: items of one facility one after another, in the order given (a facility's
 * limit sees its reservations and releases in due order, as before), different facilities side by
 * side on PostgreSQL, where each item's transaction waits on round trips, not on the other
 * facilities' rows. Results come back in the items' order.
 */
export async function perFacility<T, R>(
  ctx: CloudContext,
  items: T[],
  facilityOf: (t: T) => string,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const queues = new Map<string, number[]>();
  for (const [i, t] of items.entries()) {
    const q = queues.get(facilityOf(t)) ?? [];
    q.push(i);
    queues.set(facilityOf(t), q);
  }
  const pending = [...queues.values()];
  const width = isPostgres(ctx.db.kysely) ? FACILITY_PARALLELISM : 1;
  const worker = async () => {
    for (let q = pending.shift(); q; q = pending.shift()) for (const i of q) out[i] = await fn(items[i]!);
  };
  // Every worker finishes before this returns (or throws the first error): nothing runs on after it.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(width, pending.length) }, worker));
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  return out;
}

/**
 * Runs `fn` on groups of whole facilities' items (each facility's items in the order given, a group
 * at most `size` items unless one facility alone has more), groups side by side on PostgreSQL as
 * perFacility runs facilities: no two groups share a facility, so none waits on another's rows.
 */
export async function perFacilityGroup<T>(
  ctx: CloudContext,
  items: T[],
  facilityOf: (t: T) => string,
  size: number,
  fn: (group: T[]) => Promise<void>,
): Promise<void> {
  const queues = new Map<string, T[]>();
  for (const t of items) queues.set(facilityOf(t), [...(queues.get(facilityOf(t)) ?? []), t]);
  const groups: T[][] = [];
  let g: T[] = [];
  for (const q of queues.values()) {
    if (g.length > 0 && g.length + q.length > size) {
      groups.push(g);
      g = [];
    }
    g.push(...q);
  }
  if (g.length) groups.push(g);
  const key = new Map(groups.map((x, i) => [x, String(i)]));
  await perFacility(ctx, groups, (x) => key.get(x)!, fn);
}
