import { type Kysely, PostgresAdapter, type Selectable, sql, type Transaction } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";

type Q = Kysely<DB> | Transaction<DB>;

export const isPostgres = (q: Q): boolean => q.getExecutor().adapter instanceof PostgresAdapter;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SQLITE_BUSY / SQLITE_LOCKED: another connection holds the write lock. */
const isBusy = (e: unknown) =>
  /SQLITE_BUSY|SQLITE_LOCKED|database is locked/.test(String((e as Error)?.message ?? e)) ||
  /^SQLITE_BUSY/.test(String((e as { code?: string })?.code ?? ""));

/**
 * The one way money moves: a database transaction that is serialised against every other money
 * write on the same rows. On PostgreSQL the caller locks the rows it reads (`lockRows`, SELECT …
 * FOR UPDATE) in a fixed order: batch, then tranche, then facility, so two instances wait for each
 * other instead of both reading the same balance (the double-applied repayment of issue #11). On
 * SQLite the transaction begins IMMEDIATE, taking the database's write lock before the first read,
 * so a second connection (another instance on the same file) cannot interleave. better-sqlite3 is
 * synchronous, so waiting for that lock inside SQLite's busy handler would freeze this process's
 * event loop (and with it the other connection, if it lives in the same process): we try without
 * waiting and back off asynchronously instead.
 */
export async function moneyTx<T>(db: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  if (isPostgres(db)) return retryDeadlock(() => db.transaction().execute(fn));
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.connection().execute(async (c) => {
        await sql`pragma busy_timeout = 0`.execute(c);
        try {
          await sql`begin immediate`.execute(c);
        } finally {
          await sql`pragma busy_timeout = 10000`.execute(c);
        }
        try {
          const out = await fn(c);
          await sql`commit`.execute(c);
          return out;
        } catch (e) {
          await sql`rollback`.execute(c).catch(() => {});
          throw e;
        }
      });
    } catch (e) {
      if (!isBusy(e) || Date.now() > deadline) throw e;
      await sleep(Math.min(50, 1 + attempt) * (0.5 + Math.random()));
    }
  }
}

/** PostgreSQL may still pick a deadlock victim (40P01) or a serialisation failure (40001): retry it. */
async function retryDeadlock<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code !== "40P01" && code !== "40001") || attempt >= 20) throw e;
      await sleep(Math.random() * 20);
    }
  }
}

type Lockable =
  | "lending_batches"
  | "lending_tranches"
  | "lending_facilities"
  | "lending_overrides"
  | "lending_payment_orders";

/**
 * Locks rows for the rest of the transaction (PostgreSQL; SQLite's IMMEDIATE transaction already
 * holds the whole database). Ids are locked in sorted order so two lockers of a set cannot deadlock.
 */
export async function lockRows(q: Q, table: Lockable, ids: string[]): Promise<void> {
  if (!isPostgres(q) || ids.length === 0) return;
  for (const id of [...new Set(ids)].sort()) {
    await sql`select 1 from ${sql.table(table)} where id = ${id} for update`.execute(q);
  }
}

/**
 * lockRows for a set, in one statement, returning the locked rows (in lock order): on PostgreSQL
 * `SELECT … FOR UPDATE` ordered by the ids' position in the same sorted list lockRows walks (an
 * unnest WITH ORDINALITY: PostgreSQL sorts before it locks, so the rows are locked in exactly that
 * order, whatever the column's collation); on SQLite a plain read inside the IMMEDIATE transaction.
 * A set-based money write takes its locks with it table by table, batches → tranches → facilities.
 */
export async function lockedRows<T extends Lockable>(
  q: Q,
  table: T,
  ids: string[],
): Promise<Array<Selectable<DB[T]>>> {
  const sorted = [...new Set(ids)].sort();
  if (sorted.length === 0) return [];
  if (!isPostgres(q)) {
    const rows = await sql<
      Selectable<DB[T]>
    >`select * from ${sql.table(table)} where id in (${sql.join(sorted)})`.execute(q);
    const at = new Map(sorted.map((id, i) => [id, i]));
    const idOf = (r: Selectable<DB[T]>) => (r as unknown as { id: string }).id;
    return rows.rows.sort((a, b) => at.get(idOf(a))! - at.get(idOf(b))!);
  }
  const rows = await sql<
    Selectable<DB[T]>
  >`select r.* from unnest(${sorted}::text[]) with ordinality as u(id, n)
    join ${sql.table(table)} r on r.id = u.id order by u.n for update of r`.execute(q);
  return rows.rows;
}

/** One batch, locked for the rest of the transaction as lockRows locks it; `BL_NOT_FOUND` when there is none. */
export async function lockedBatch(q: Q, batchId: string): Promise<Selectable<DB["lending_batches"]>> {
  const [b] = await lockedRows(q, "lending_batches", [batchId]);
  if (!b) throw ERR_NOT_FOUND(`no batch ${batchId}`);
  return b;
}

/** A unique-key violation on either dialect (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY). */
export function isUniqueViolation(e: unknown): boolean {
  const code = String((e as { code?: string })?.code ?? "");
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
