import { randomBytes } from "node:crypto";
import { type Migration, type MigrationProvider, Migrator } from "kysely";
import pg from "pg";
import { PG_URL, freshDb as sharedFreshDb } from "../../../test/helpers/services.ts";
import { openDb } from "../../db/connect.ts";
import { migrations } from "../../db/migrations/index.ts";

/**
 * freshDb, but on PostgreSQL the migrator's own tables are pinned to the test's schema. Kysely's
 * Migrator, without `migrationTableSchema`, looks for kysely_migration_lock in every schema, so two
 * test files migrating fresh schemas at once can see each other's lock table and fail
 * ("relation kysely_migration_lock does not exist"). Reported to the lead for test/helpers.
 */
export async function freshDb(dialect: "sqlite" | "postgres") {
  if (dialect === "sqlite") return sharedFreshDb("sqlite");
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const db = openDb(PG_URL, { schema });
  const all = migrations("postgres");
  const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => all };
  const { error } = await new Migrator({
    db: db.kysely,
    provider,
    migrationTableSchema: schema,
  }).migrateToLatest();
  if (error) throw error;
  return {
    db,
    url: PG_URL,
    schema,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}
