import { type Migration, type MigrationProvider, Migrator } from "kysely";
import { ERR_STORAGE } from "../../core/errors.ts";
import type { Db } from "./connect.ts";
import { migrations } from "./migrations/index.ts";

class StaticProvider implements MigrationProvider {
  constructor(private readonly all: Record<string, Migration>) {}
  async getMigrations() {
    return this.all;
  }
}

/** Brings the schema to the latest version; safe to run from several instances at once on PostgreSQL. */
export async function migrateToLatest(db: Db): Promise<void> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: new StaticProvider(migrations(db.dialect)),
    // Kysely looks for its lock table across schemas; pin it to ours so parallel schemas never mix.
    ...(db.schema ? { migrationTableSchema: db.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw ERR_STORAGE(
      `migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message}`,
      undefined,
      error,
    );
  }
}
