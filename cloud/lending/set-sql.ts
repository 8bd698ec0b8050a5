import { type RawBuilder, sql } from "kysely";

/**
 * `CASE <key> WHEN k1 THEN v1 … END` over integer values, for one UPDATE that sets a different
 * amount on each of several rows (both dialects: the cast types PostgreSQL's parameters, SQLite
 * reads it as integer affinity). Values are integer fen, milliseconds or levels, never fractions.
 */
export function caseOf(key: string, pairs: Array<[string, number]>): RawBuilder<number> {
  for (const [, v] of pairs) if (!Number.isSafeInteger(v)) throw new Error(`caseOf: ${v} is not an integer`);
  return sql<number>`case ${sql.ref(key)} ${sql.join(
    pairs.map(([k, v]) => sql`when ${k} then cast(${String(v)} as bigint)`),
    sql` `,
  )} end`;
}

/** Items grouped by a key, in first-seen order, each group keeping the items' order. */
export function groupBy<T>(xs: T[], key: (x: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k) ?? [];
    g.push(x);
    m.set(k, g);
  }
  return [...m.values()];
}
