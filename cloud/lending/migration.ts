import { type CreateTableBuilder, type Kysely, type Migration, sql } from "kysely";
import type { Dialect } from "../db/connect.ts";

type Col = Parameters<ReturnType<Kysely<unknown>["schema"]["createTable"]>["addColumn"]>;

/**
 * The lending engine's tables. Money columns are integer fen (bigint on PostgreSQL, integer on
 * SQLite); unique keys carry the exactly-once guarantees (one reservation, one ledger posting and
 * one payment order per tranche); triggers make the ledger append-only on both dialects.
 */
export function lending0100(dialect: Dialect): Migration {
  const big = (dialect === "postgres" ? "bigint" : "integer") as Col[1];
  const table = (db: Kysely<unknown>, name: string, cols: Array<[string, Col[1], "nn" | "null" | "pk"]>) => {
    let t = db.schema.createTable(name) as CreateTableBuilder<string, string>;
    for (const [n, type, mode] of cols) {
      t = t.addColumn(n, type, (c) => (mode === "pk" ? c.primaryKey() : mode === "nn" ? c.notNull() : c));
    }
    return t;
  };
  return {
    async up(db: Kysely<unknown>) {
      await table(db, "lending_borrowers", [
        ["id", "text", "pk"],
        ["name", "text", "nn"],
        ["kind", "text", "nn"],
        ["created_at", big, "nn"],
      ]).execute();
      await table(db, "lending_suppliers", [
        ["id", "text", "pk"],
        ["name", "text", "nn"],
        ["account", "text", "nn"],
        ["bic", "text", "null"],
        ["bank_name", "text", "null"],
        ["created_at", big, "nn"],
      ]).execute();
      await table(db, "lending_facilities", [
        ["id", "text", "pk"],
        ["borrower_id", "text", "nn"],
        ["currency", "text", "nn"],
        ["limit_fen", big, "nn"],
        ["committed_fen", big, "nn"],
        ["term_start", big, "nn"],
        ["term_end", big, "nn"],
        ["max_drawdown_days", "integer", "nn"],
        ["rate_ppm", "integer", "nn"],
        ["day_count", "text", "nn"],
        ["thresholds", "text", "nn"],
        ["waterfall", "text", "nn"],
        ["debtor_name", "text", "nn"],
        ["debtor_account", "text", "nn"],
        ["debtor_bic", "text", "null"],
        ["created_at", big, "nn"],
      ])
        .addCheckConstraint(
          "lending_facilities_limit",
          sql`committed_fen >= 0 and committed_fen <= limit_fen`,
        )
        .execute();
      await table(db, "lending_batches", [
        ["id", "text", "pk"],
        ["facility_id", "text", "nn"],
        ["barn", "text", "nn"],
        ["species", "text", "nn"],
        ["head_placed", "integer", "nn"],
        ["placed_at", big, "nn"],
        ["cycle_days", "integer", "nn"],
        ["tranche_days", "integer", "nn"],
        ["devices", "text", "nn"],
        ["supplier_id", "text", "nn"],
        ["feed_price_fen_per_kg", big, "nn"],
        ["live_price_fen_per_kg", big, "nn"],
        ["status", "text", "nn"],
        ["evidence_level", "integer", "nn"],
        ["interest_num", "text", "nn"],
        ["interest_posted_fen", big, "nn"],
        ["accrued_through", big, "nn"],
        ["created_at", big, "nn"],
        ["closed_at", big, "null"],
      ]).execute();
      await table(db, "lending_tranches", [
        ["id", "text", "pk"],
        ["batch_id", "text", "nn"],
        ["seq", "integer", "nn"],
        ["due_at", big, "nn"],
        ["from_day", "integer", "nn"],
        ["to_day", "integer", "nn"],
        ["planned_head", "integer", "nn"],
        ["planned_kg", big, "nn"],
        ["planned_fen", big, "nn"],
        ["status", "text", "nn"],
        ["released_fen", big, "nn"],
        ["released_kg", big, "nn"],
        ["released_at", big, "null"],
        ["maturity_at", big, "null"],
        ["decided_at", big, "null"],
      ])
        .addUniqueConstraint("lending_tranches_batch_seq", ["batch_id", "seq"])
        .execute();
      await db.schema
        .createIndex("lending_tranches_due")
        .on("lending_tranches")
        .columns(["status", "due_at"])
        .execute();
      await table(db, "lending_decisions", [
        ["id", "text", "pk"],
        ["tranche_id", "text", "nn"],
        ["outcome", "text", "nn"],
        ["amount_fen", big, "nn"],
        ["reasons", "text", "nn"],
        ["gates", "text", "nn"],
        ["decided_by", "text", "nn"],
        ["decided_at", big, "nn"],
      ]).execute();
      await db.schema
        .createIndex("lending_decisions_tranche")
        .on("lending_decisions")
        .column("tranche_id")
        .execute();
      await table(db, "lending_overrides", [
        ["id", "text", "pk"],
        ["tranche_id", "text", "nn"],
        ["action", "text", "nn"],
        ["amount_fen", big, "nn"],
        ["reason", "text", "nn"],
        ["maker", "text", "nn"],
        ["checker", "text", "null"],
        ["status", "text", "nn"],
        ["created_at", big, "nn"],
        ["decided_at", big, "null"],
      ]).execute();
      await table(db, "lending_reservations", [
        ["id", "text", "pk"],
        ["facility_id", "text", "nn"],
        ["tranche_id", "text", "nn"],
        ["amount_fen", big, "nn"],
        ["status", "text", "nn"],
        ["created_at", big, "nn"],
        ["expires_at", big, "nn"],
        ["settled_at", big, "null"],
      ])
        .addUniqueConstraint("lending_reservations_tranche", ["tranche_id"])
        .execute();
      await table(db, "lending_ledger_tx", [
        ["id", "text", "pk"],
        ["facility_id", "text", "nn"],
        ["batch_id", "text", "null"],
        ["kind", "text", "nn"],
        ["ref", "text", "nn"],
        ["memo", "text", "nn"],
        ["corrects", "text", "null"],
        ["posted_at", big, "nn"],
      ])
        .addUniqueConstraint("lending_ledger_tx_ref", ["ref"])
        .execute();
      await table(db, "lending_ledger_entries", [
        ["tx_id", "text", "nn"],
        ["line", "integer", "nn"],
        ["account", "text", "nn"],
        ["amount_fen", big, "nn"],
      ])
        .addPrimaryKeyConstraint("lending_ledger_entries_pk", ["tx_id", "line"])
        .execute();
      await table(db, "lending_payment_orders", [
        ["id", "text", "pk"],
        ["tranche_id", "text", "nn"],
        ["facility_id", "text", "nn"],
        ["supplier_id", "text", "nn"],
        ["amount_fen", big, "nn"],
        ["currency", "text", "nn"],
        ["end_to_end_id", "text", "nn"],
        ["status", "text", "nn"],
        ["file_id", "text", "null"],
        ["attempts", "integer", "nn"],
        ["created_at", big, "nn"],
        ["sent_at", big, "null"],
      ])
        .addUniqueConstraint("lending_payment_orders_tranche", ["tranche_id"])
        .addUniqueConstraint("lending_payment_orders_e2e", ["end_to_end_id"])
        .execute();
      await table(db, "lending_payment_files", [
        ["id", "text", "pk"],
        ["xml", "text", "nn"],
        ["n", "integer", "nn"],
        ["ctrl_sum_fen", big, "nn"],
        ["created_at", big, "nn"],
      ]).execute();
      await table(db, "lending_alerts", [
        ["id", "text", "pk"],
        ["facility_id", "text", "nn"],
        ["batch_id", "text", "null"],
        ["kind", "text", "nn"],
        ["severity", "text", "nn"],
        ["message", "text", "nn"],
        ["detail", "text", "nn"],
        ["dedupe", "text", "nn"],
        ["created_at", big, "nn"],
        ["acked_by", "text", "null"],
        ["acked_at", big, "null"],
      ])
        .addUniqueConstraint("lending_alerts_dedupe", ["dedupe"])
        .execute();
      await table(db, "lending_idempotency", [
        ["key", "text", "pk"],
        ["method", "text", "nn"],
        ["path", "text", "nn"],
        ["request_hash", "text", "nn"],
        ["status_code", "integer", "nn"],
        ["response", "text", "null"],
        ["created_at", big, "nn"],
      ]).execute();
      await table(db, "lending_demands", [
        ["id", "text", "pk"],
        ["batch_id", "text", "nn"],
        ["device", "text", "nn"],
        ["name", "text", "nn"],
        ["args", "text", "nn"],
        ["level", "integer", "nn"],
        ["reason", "text", "nn"],
        ["sent_at", big, "nn"],
      ]).execute();
      await appendOnly(db, dialect);
    },
    async down(db: Kysely<unknown>) {
      for (const t of [
        "lending_demands",
        "lending_idempotency",
        "lending_alerts",
        "lending_payment_files",
        "lending_payment_orders",
        "lending_ledger_entries",
        "lending_ledger_tx",
        "lending_reservations",
        "lending_overrides",
        "lending_decisions",
        "lending_tranches",
        "lending_batches",
        "lending_facilities",
        "lending_suppliers",
        "lending_borrowers",
      ]) {
        await db.schema.dropTable(t).execute();
      }
    },
  };
}

/** The ledger is immutable: mistakes are fixed by correcting transactions, so updates and deletes fail. */
async function appendOnly(db: Kysely<unknown>, dialect: Dialect) {
  if (dialect === "postgres") {
    await sql`create function lending_ledger_immutable() returns trigger language plpgsql as $$
      begin raise exception 'lending ledger is append-only'; end $$`.execute(db);
    for (const t of ["lending_ledger_tx", "lending_ledger_entries"]) {
      await sql`create trigger ${sql.id(`${t}_immutable`)} before update or delete on ${sql.id(t)}
        for each row execute function lending_ledger_immutable()`.execute(db);
    }
    return;
  }
  for (const t of ["lending_ledger_tx", "lending_ledger_entries"]) {
    for (const op of ["update", "delete"]) {
      await sql`create trigger ${sql.id(`${t}_no_${op}`)} before ${sql.raw(op)} on ${sql.id(t)}
        begin select raise(abort, 'lending ledger is append-only'); end`.execute(db);
    }
  }
}
