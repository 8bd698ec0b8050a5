import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { PG_URL, postgresAvailable, tmpDir } from "../../test/helpers/services.ts";
import { type Db, openDb } from "./connect.ts";
import { migrateToLatest } from "./migrate.ts";
import { migrations } from "./migrations/index.ts";

/**
 * An upgrade from an older release: a database that applied every migration of its day, where
 * this release ships one that sorts before some of those (0004_stream_generations was added after
 * 0400_patrol_reviews had shipped; 0500 is new). It must start, and gain the missing ones.
 */
const pgUp = await postgresAvailable();
const OLDER_MISSING = ["0004_stream_generations", "0500_ingest_members"];

async function upgradeFromOlder(db: Db) {
  const all = migrations(db.dialect);
  const older = Object.fromEntries(Object.entries(all).filter(([n]) => !OLDER_MISSING.includes(n)));
  await migrateToLatest(db, older);
  await migrateToLatest(db);
  const applied = await db.kysely
    .selectFrom("kysely_migration" as never)
    .select("name" as never)
    .execute();
  const names = (applied as Array<{ name: string }>).map((r) => r.name).sort();
  expect(names).toEqual(Object.keys(all).sort());
  // 0004's column and table are there and usable.
  await db.kysely.selectFrom("streams").select(["generation", "seq_base"]).execute();
  await db.kysely.selectFrom("stream_restarts").selectAll().execute();
  // Running again changes nothing.
  await migrateToLatest(db);
}

describe("migrations: upgrading a database of an older release", () => {
  it("SQLite", async () => {
    const db = openDb(join(tmpDir(), "old.db"));
    try {
      await upgradeFromOlder(db);
    } finally {
      await db.close();
    }
  });

  it.runIf(pgUp)("PostgreSQL", async () => {
    const schema = `t_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const db = openDb(PG_URL, { schema });
    try {
      await upgradeFromOlder(db);
    } finally {
      await db.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  });
});
