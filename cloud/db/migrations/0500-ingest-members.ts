import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/**
 * Instances of a cloud in device-affine ingest routing (`ingest.routing: affine`, issue #19): one row
 * per instance, its heartbeat time; live = a heartbeat within `ingest.liveness`
 * (cloud/ingest/affinity.ts). Rows are removed by a clean stop; a dead instance's row only expires.
 */
export function ingestMembers0500(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("ingest_members")
        .addColumn("instance", "text", (c) => c.primaryKey())
        .addColumn("heartbeat_at", big, (c) => c.notNull())
        .addColumn("started_at", big, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("ingest_members").execute();
    },
  };
}
