import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../db/connect.ts";

/**
 * Provisioning and API tokens (#13): enrolment tokens (hash, device, expiry, used-at), keys a
 * device rotated away from and that still verify until their overlap ends, and API bearer tokens
 * made by an admin (hash, role, expiry, revocation, last use). Only SHA-256 hashes of tokens are kept.
 */
export function enrol0022(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("enrolment_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("token_sha256", "text", (c) => c.notNull().unique())
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("expires_at", big, (c) => c.notNull())
        .addColumn("used_at", big)
        .execute();
      await db.schema
        .createTable("device_keys_retired")
        .addColumn("device", "text", (c) => c.notNull())
        .addColumn("public_key", "text", (c) => c.notNull())
        .addColumn("retired_at", big, (c) => c.notNull())
        .addColumn("valid_until", big, (c) => c.notNull())
        .addPrimaryKeyConstraint("device_keys_retired_pk", ["device", "public_key"])
        .execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("token_sha256", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("expires_at", big)
        .addColumn("revoked_at", big)
        .addColumn("last_used_at", big)
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("api_tokens").execute();
      await db.schema.dropTable("device_keys_retired").execute();
      await db.schema.dropTable("enrolment_tokens").execute();
    },
  };
}

export interface EnrolmentTokensTable {
  id: string;
  token_sha256: string;
  device: string;
  created_by: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface DeviceKeysRetiredTable {
  device: string;
  public_key: string;
  retired_at: number;
  valid_until: number;
}

export interface ApiTokensTable {
  id: string;
  token_sha256: string;
  name: string;
  role: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface EnrolTables {
  enrolment_tokens: EnrolmentTokensTable;
  device_keys_retired: DeviceKeysRetiredTable;
  api_tokens: ApiTokensTable;
}
