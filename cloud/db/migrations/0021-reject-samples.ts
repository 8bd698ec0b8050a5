import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/**
 * Rejected messages become samples (#13): a hash of the whole payload, its first bytes only, and
 * how many rejects of the same device were counted but not sampled before this one.
 */
export function rejectSamples0021(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("rejects").addColumn("payload_sha256", "text").execute();
      await db.schema
        .alterTable("rejects")
        .addColumn("suppressed", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("rejects_received").on("rejects").column("received_at").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex("rejects_received").execute();
      await db.schema.alterTable("rejects").dropColumn("suppressed").execute();
      await db.schema.alterTable("rejects").dropColumn("payload_sha256").execute();
    },
  };
}
