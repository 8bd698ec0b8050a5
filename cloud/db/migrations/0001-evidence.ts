import { type Kysely, type Migration, sql } from "kysely";
import type { Dialect } from "../connect.ts";

/** Devices, their evidence records, stream state, gaps, rejected messages. Hashes are lowercase hex. */
export function evidence0001(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("devices")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("public_key", "text", (c) => c.notNull())
        .addColumn("name", "text")
        .addColumn("registered_at", big, (c) => c.notNull())
        .addColumn("revoked_at", big)
        .execute();
      await db.schema
        .createTable("records")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("seq", big, (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("t_wall", big, (c) => c.notNull())
        .addColumn("t_boot", "text", (c) => c.notNull())
        .addColumn("t_mono", big, (c) => c.notNull())
        .addColumn("t_synced", "integer", (c) => c.notNull())
        .addColumn("t_corrected", big)
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("prev", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("received_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("records_pk", ["device", "stream", "seq"])
        .execute();
      await db.schema
        .createIndex("records_kind_time")
        .on("records")
        .columns(["device", "kind", "t_wall"])
        .execute();
      await db.schema
        .createTable("streams")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("committed_seq", big, (c) => c.notNull().defaultTo(0))
        .addColumn("max_seq", big, (c) => c.notNull().defaultTo(0))
        .addColumn("count", big, (c) => c.notNull().defaultTo(0))
        .addColumn("chain_ok", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("chain_error", "text")
        .addColumn("last_seen", big)
        .addColumn("head_seq", big)
        .addColumn("head_hash", "text")
        .addColumn("head_sig", "text")
        .addPrimaryKeyConstraint("streams_pk", ["device", "stream"])
        .execute();
      await db.schema
        .createTable("gaps")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("stream", "text", (c) => c.notNull())
        .addColumn("from_seq", big, (c) => c.notNull())
        .addColumn("to_seq", big, (c) => c.notNull())
        .addColumn("count", big, (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("prev", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("received_at", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("gaps_pk", ["device", "stream", "from_seq"])
        .execute();
      await db.schema
        .createTable("rejects")
        .addColumn("id", dialect === "postgres" ? "bigserial" : "integer", (c) =>
          dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn("device", "text")
        .addColumn("topic", "text", (c) => c.notNull())
        .addColumn("code", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("payload_b64", "text")
        .addColumn("payload_bytes", "integer", (c) => c.notNull())
        .addColumn("received_at", big, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("rejects_device")
        .on("rejects")
        .columns(["device", "received_at"])
        .execute();
      await sql`select 1`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["rejects", "gaps", "streams", "records", "devices"])
        await db.schema.dropTable(t).execute();
    },
  };
}
