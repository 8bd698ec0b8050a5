import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../db/connect.ts";

/**
 * Fleet requests: who asked a gateway for what (`config.apply`, `status.report`) and when. What the
 * gateway answered stays in `records` (its signed `config` and `status` streams); the signed command
 * itself is in `device_commands`.
 */
export function fleet0300(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("fleet_requests")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("requested_by", "text", (c) => c.notNull())
        .addColumn("requested_at", big, (c) => c.notNull())
        /** config.apply: the config's SHA-256 and its text with secret values blanked (for the device page). */
        .addColumn("config_sha256", "text")
        .addColumn("config_redacted", "text")
        .execute();
      await db.schema
        .createIndex("fleet_requests_device")
        .on("fleet_requests")
        .columns(["device", "requested_at"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("fleet_requests").execute();
    },
  };
}

export interface FleetTables {
  fleet_requests: {
    id: string;
    device: string;
    name: string;
    requested_by: string;
    requested_at: number;
    config_sha256: string | null;
    config_redacted: string | null;
  };
}
