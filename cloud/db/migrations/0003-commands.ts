import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/** Commands sent to devices, kept until the device's evidence shows it ran them. */
export function commands0003(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("device_commands")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        /** The signed message exactly as first published: a resend is byte-identical, so the agent's replay guard sees the same id. */
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("expires_at", big, (c) => c.notNull())
        .addColumn("sends", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("last_sent_at", big, (c) => c.notNull())
        .addColumn("done_at", big)
        .addColumn("outcome", "text")
        .execute();
      await db.schema
        .createIndex("device_commands_open")
        .on("device_commands")
        .columns(["device", "done_at"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("device_commands").execute();
    },
  };
}
