import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDb, PG_URL, postgresAvailable } from "../../test/helpers/services.ts";
import { migrateToLatest } from "./migrate.ts";

const pgUp = await postgresAvailable();

describe.runIf(pgUp)("migrations on PostgreSQL look only at their own schema", () => {
  const admin = new pg.Client({ connectionString: PG_URL });
  beforeAll(() => admin.connect());
  afterAll(() => admin.end());

  it("lists only the tables of the schema it runs in", async () => {
    const mine = await freshDb("postgres");
    const other = await freshDb("postgres");
    try {
      const tables = await mine.db.kysely.introspection.getTables({ withInternalKyselyTables: true });
      expect(tables.length).toBeGreaterThan(5);
      expect(new Set(tables.map((t) => t.schema))).toEqual(new Set([mine.schema]));
      expect(tables.map((t) => t.name)).toContain("kysely_migration");
    } finally {
      await other.drop();
      await mine.drop();
    }
  });

  it("migrates while other schemas are created and dropped beside it", async () => {
    // Kysely's own introspector called has_schema_privilege() on every schema by name: one dropped
    // mid-query failed the migration with 'schema "t_…" does not exist' (seen in CI).
    let churn = true;
    const churner = (async () => {
      let i = 0;
      while (churn) {
        const name = `churn_${process.pid}_${i++}`;
        await admin.query(`create schema ${name}; create table ${name}.x (a int)`);
        await admin.query(`drop schema ${name} cascade`);
      }
    })();
    try {
      for (let round = 0; round < 5; round++) {
        const f = await freshDb("postgres");
        await migrateToLatest(f.db); // a second run finds every migration applied
        await f.drop();
      }
    } finally {
      churn = false;
      await churner;
    }
  });
});
