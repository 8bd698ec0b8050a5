import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../connect.ts";

/**
 * Broker credentials of devices (#13): hashes only (Mosquitto's PBKDF2-SHA512 format), several per
 * device while a rotation overlaps, each with an optional expiry.
 */
export function brokerCredentials0020(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("broker_credentials")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("expires_at", big)
        .addColumn("revoked_at", big)
        .execute();
      await db.schema
        .createIndex("broker_credentials_device")
        .on("broker_credentials")
        .column("device")
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("broker_credentials").execute();
    },
  };
}
