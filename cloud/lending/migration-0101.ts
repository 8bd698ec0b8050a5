import { type Kysely, type Migration, sql } from "kysely";
import type { Dialect } from "../db/connect.ts";

/**
 * Servicing (issue #11): facility servicing terms (time zone, penalty, grace, fees), supplier CNAPS
 * codes, override approval levels and closing reasons, payment-order reconciliation, one open batch
 * per barn and device (claims), the hash-chained audit log, bank status reports and price series.
 */
export function lending0101(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      const add = (table: string, col: string, type: string, dflt?: string) =>
        sql`alter table ${sql.id(table)} add column ${sql.id(col)} ${sql.raw(type)}${sql.raw(dflt ? ` not null default ${dflt}` : "")}`.execute(
          db,
        );
      await add("lending_facilities", "servicing", "text", "'{}'");
      await add("lending_suppliers", "cnaps", "text");
      await add("lending_overrides", "approvals_needed", "integer", "1");
      await add("lending_overrides", "first_checker", "text");
      await add("lending_overrides", "closed_by", "text");
      await add("lending_overrides", "closed_reason", "text");
      await add("lending_payment_orders", "last_error", "text");
      await add("lending_payment_orders", "settled_at", big);
      await add("lending_payment_orders", "return_reason", "text");
      await add("lending_payment_files", "status", "text", "'exported'");
      await add("lending_payment_files", "reason", "text");
      await add("lending_batches", "written_off_at", big);
      await add("lending_batches", "penalty_through", big, "0");
      await db.schema
        .createTable("lending_batch_claims")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("batch_id", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("lending_audit")
        .addColumn("seq", big as "integer", (c) => c.primaryKey())
        .addColumn("at", big as "integer", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("request", "text", (c) => c.notNull())
        .addColumn("status", "integer", (c) => c.notNull())
        .addColumn("result", "text", (c) => c.notNull())
        .addColumn("prev_hash", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("lending_bank_reports")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("result", "text", (c) => c.notNull())
        .addColumn("created_at", big as "integer", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("lending_prices")
        .addColumn("series", "text", (c) => c.notNull())
        .addColumn("at", big as "integer", (c) => c.notNull())
        .addColumn("fen_per_kg", big as "integer", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("lending_prices_pk", ["series", "at"])
        .execute();
      // Existing open batches claim their barn and devices, so the new rule holds for them too.
      const open = await sql<{ id: string; barn: string; devices: string }>`
        select id, barn, devices from lending_batches where status = 'open'`.execute(db);
      for (const b of open.rows) {
        for (const key of claimKeys(b.barn, JSON.parse(b.devices) as string[])) {
          await sql`insert into lending_batch_claims (key, batch_id) values (${key}, ${b.id})
            on conflict (key) do nothing`.execute(db);
        }
      }
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["lending_prices", "lending_bank_reports", "lending_audit", "lending_batch_claims"]) {
        await db.schema.dropTable(t).execute();
      }
    },
  };
}

/** The claim keys of an open batch: its barn and each of its devices. */
export function claimKeys(barn: string, devices: string[]): string[] {
  return [`barn:${barn}`, ...devices.map((d) => `device:${d}`)];
}
