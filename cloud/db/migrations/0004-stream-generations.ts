import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/**
 * Declared stream restarts (#15): a gateway whose outbox was lost restarts a stream at seq 1 under
 * a higher generation (`name#g2` on the wire, signed in every link). The cloud keeps one stream per
 * name: a generation's records are stored after the previous generation's (`seq_base`), so keys
 * never collide and every query by (device, stream, seq) keeps working. Each restart is evidence.
 */
export function streamGenerations0004(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("streams")
        .addColumn("generation", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable("streams")
        .addColumn("seq_base", "bigint", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("stream_restarts")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("generation", "integer", (c) => c.notNull())
        .addColumn("seq_base", "bigint", (c) => c.notNull())
        .addColumn("old_generation", "integer", (c) => c.notNull())
        .addColumn("old_committed", "bigint", (c) => c.notNull())
        .addColumn("old_max", "bigint", (c) => c.notNull())
        .addColumn("old_head_hash", "text")
        .addColumn("missing", "bigint", (c) => c.notNull())
        .addColumn("declared_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("stream_restarts_pk", ["device", "stream", "generation"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("stream_restarts").execute();
      await db.schema.alterTable("streams").dropColumn("seq_base").execute();
      await db.schema.alterTable("streams").dropColumn("generation").execute();
    },
  };
}
