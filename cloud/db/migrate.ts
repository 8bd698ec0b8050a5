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

/**
 * Brings the schema to the latest version; safe to run from several instances at once on PostgreSQL.
 * `all` is every migration this release ships (tests pass an older release's subset).
 *
 * Unordered migrations are allowed: a migration added in a later release may sort before one an
 * existing database applied already (0004_stream_generations came after 0400_patrol_reviews had
 * shipped), and Kysely would otherwise refuse to start such a database ("corrupted migrations").
 * Each module's migrations touch only its own tables, so applying the missing one late is safe;
 * it still runs once (Kysely's lock and table), and migrate.test.ts upgrades such a database.
 */
export async function migrateToLatest(
  db: Db,
  all: Record<string, Migration> = migrations(db.dialect),
): Promise<void> {
  const migrator = new Migrator({
    db: db.kysely,
    provider: new StaticProvider(all),
    allowUnorderedMigrations: true,
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
