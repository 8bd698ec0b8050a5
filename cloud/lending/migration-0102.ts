import { type Kysely, type Migration, sql } from "kysely";
import type { Dialect } from "../db/connect.ts";

/** Written once, never changed: fixed by a new row (a correcting transaction, a new decision). */
export const IMMUTABLE_TABLES = [
  "lending_ledger_tx",
  "lending_ledger_entries",
  "lending_decisions",
  "lending_audit",
  "lending_payment_files",
  "lending_bank_reports",
] as const;

/** The PostgreSQL role the cloud service runs as (docs/lending.md, "Database roles"). */
export const SERVICE_ROLE = "barnlink_service";

/**
 * What the auditor signs off must not be editable (issue #11): decisions, the audit log, payment
 * files and bank reports join the ledger as append-only (UPDATE and DELETE refused by triggers on
 * both dialects, TRUNCATE by a statement trigger on PostgreSQL); an override may only move out of
 * `pending` (or approved → lapsed), never be rewritten or deleted. On PostgreSQL the service role
 * gets SELECT/INSERT only on those tables, so even without the triggers it cannot change them.
 */
export function lending0102(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === "postgres") return postgres(db);
      for (const t of IMMUTABLE_TABLES.filter((t) => !t.startsWith("lending_ledger"))) {
        for (const op of ["update", "delete"]) {
          await sql`create trigger ${sql.id(`${t}_no_${op}`)} before ${sql.raw(op)} on ${sql.id(t)}
            begin select raise(abort, ${sql.lit(`${t} is append-only`)}); end`.execute(db);
        }
      }
      await sql`create trigger lending_overrides_no_delete before delete on lending_overrides
        begin select raise(abort, 'lending overrides are kept'); end`.execute(db);
      await sql`create trigger lending_overrides_guard before update on lending_overrides
        when not (old.status = 'pending' or (old.status = 'approved' and new.status = 'lapsed'))
          or new.tranche_id is not old.tranche_id or new.action is not old.action
          or new.amount_fen is not old.amount_fen or new.reason is not old.reason
          or new.maker is not old.maker or new.created_at is not old.created_at
          or new.approvals_needed is not old.approvals_needed
        begin select raise(abort, 'a decided lending override cannot be changed'); end`.execute(db);
    },
    async down() {},
  };
}

async function postgres(db: Kysely<unknown>) {
  await sql`create function lending_append_only() returns trigger language plpgsql as $$
    begin raise exception '% is append-only', tg_table_name; end $$`.execute(db);
  for (const t of IMMUTABLE_TABLES) {
    if (!t.startsWith("lending_ledger")) {
      await sql`create trigger ${sql.id(`${t}_immutable`)} before update or delete on ${sql.id(t)}
        for each row execute function lending_append_only()`.execute(db);
    }
    await sql`create trigger ${sql.id(`${t}_no_truncate`)} before truncate on ${sql.id(t)}
      for each statement execute function lending_append_only()`.execute(db);
  }
  await sql`create function lending_override_guard() returns trigger language plpgsql as $$
    begin
      if tg_op <> 'UPDATE' then raise exception 'lending overrides are kept'; end if;
      if not (old.status = 'pending' or (old.status = 'approved' and new.status = 'lapsed'))
        or (new.tranche_id, new.action, new.amount_fen, new.reason, new.maker, new.created_at, new.approvals_needed)
           is distinct from
           (old.tranche_id, old.action, old.amount_fen, old.reason, old.maker, old.created_at, old.approvals_needed)
      then raise exception 'a decided lending override cannot be changed'; end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger lending_overrides_guard before update or delete on lending_overrides
    for each row execute function lending_override_guard()`.execute(db);
  await sql`create trigger lending_overrides_no_truncate before truncate on lending_overrides
    for each statement execute function lending_override_guard()`.execute(db);
  // The role is cluster-wide: create it once; a migrating user without CREATEROLE skips the grants
  // (docs/lending.md says how to create it by hand).
  await sql`do $$ begin
      if not exists (select 1 from pg_roles where rolname = ${sql.lit(SERVICE_ROLE)}) then
        create role ${sql.id(SERVICE_ROLE)} nologin;
      end if;
    exception when duplicate_object or unique_violation or insufficient_privilege then null;
    end $$`.execute(db);
  const has = await sql<{
    n: number;
  }>`select count(*)::int as n from pg_roles where rolname = ${SERVICE_ROLE}`.execute(db);
  if (has.rows[0]?.n !== 1) return;
  const role = sql.id(SERVICE_ROLE);
  await sql`do $$ begin execute format('grant usage on schema %I to ${sql.raw(SERVICE_ROLE)}', current_schema()); end $$`.execute(
    db,
  );
  await sql`do $$ begin execute format('grant select, insert, update, delete on all tables in schema %I to ${sql.raw(SERVICE_ROLE)}', current_schema()); end $$`.execute(
    db,
  );
  await sql`do $$ begin execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to ${sql.raw(SERVICE_ROLE)}', current_schema()); end $$`.execute(
    db,
  );
  for (const t of [...IMMUTABLE_TABLES, "lending_overrides"]) {
    await sql`revoke update, delete, truncate on ${sql.id(t)} from ${role}`.execute(db);
  }
  // Overrides change status (pending → approved, rejected, withdrawn): UPDATE stays, the trigger guards it.
  await sql`grant update on lending_overrides to ${role}`.execute(db);
}
