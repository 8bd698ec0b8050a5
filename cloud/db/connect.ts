import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import pg from "pg";
import { ScopedPostgresDialect } from "./pg-introspector.ts";
import type { DB } from "./schema.ts";

// int8 (bigint) columns hold millisecond times and seqs, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// numeric stays a string: money columns are integers in minor units, never numeric.

export type Dialect = "sqlite" | "postgres";

export interface Db {
  kysely: Kysely<DB>;
  dialect: Dialect;
  /** PostgreSQL schema in use when not the default (tests use one each). */
  schema?: string;
  /** PostgreSQL only: connections of the pool, at most (ingest commits that many groups at once, less one). */
  poolSize?: number;
  /**
   * SQLite only: the better-sqlite3 handle under Kysely, for hot bulk statements. Use it only inside a
   * Kysely transaction (the connection is then held by that transaction, so the statements are part
   * of it); never begin or commit through it.
   */
  sqlite?: Database.Database;
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  return /^postgres(ql)?:\/\//.test(url) ? "postgres" : "sqlite";
}

/**
 * Opens the cloud database. A `postgres://` URL uses PostgreSQL through pg; anything else is a
 * SQLite file path (or `sqlite:PATH`, or `:memory:`). Kysely's dialects keep the queries the same.
 * `schema` (PostgreSQL only) sets the search_path: tests use one schema each.
 */
export function openDb(url: string, opts: { schema?: string; poolSize?: number } = {}): Db {
  const dialect = dialectOf(url);
  if (dialect === "postgres") {
    const poolSize = opts.poolSize ?? 10;
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    const kysely = new Kysely<DB>({ dialect: new ScopedPostgresDialect({ pool }, opts.schema) });
    return { kysely, dialect, schema: opts.schema, poolSize, close: () => kysely.destroy() };
  }
  const path = url.replace(/^sqlite:(\/\/)?/, "");
  const sqlite = new Database(path);
  sqlite.pragma("journal_mode = WAL");
  // The cloud acknowledges only after commit, so its commits must survive a power cut.
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 10000");
  sqlite.pragma("foreign_keys = ON");
  const kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { kysely, dialect, sqlite, close: () => kysely.destroy() };
}
