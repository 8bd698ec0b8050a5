import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import type { BatchInput, BorrowerInput, FacilityInput, SupplierInput } from "./domain.ts";
import { ERR_LENDING_DUPLICATE, ERR_LENDING_OPEN_BATCH, ERR_LENDING_TERM } from "./errors.ts";
import { ratePpm } from "./interest.ts";
import { localDayStart } from "./local-day.ts";
import { claimKeys } from "./migration-0101.ts";
import { isUniqueViolation, moneyTx } from "./money-tx.ts";
import { loadProfile } from "./profile.ts";
import { planTranches } from "./schedule.ts";
import { parseServicing, type ServicingTerms } from "./servicing-terms.ts";
import { thresholdsSchema } from "./thresholds.ts";

/** An insert whose id is taken is the client's mistake: a 409 naming it, never a 500. */
async function insertNew<T>(what: string, id: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isUniqueViolation(e)) throw ERR_LENDING_DUPLICATE(`${what} ${id} already exists`);
    throw e;
  }
}

/** Creating the lending objects: borrower, supplier, facility, batch (with its tranche plan). */
export async function createBorrower(db: Kysely<DB>, b: BorrowerInput, at: number) {
  const row = { id: b.id ?? randomUUID(), name: b.name, kind: b.kind, created_at: at };
  await insertNew("borrower", row.id, () => db.insertInto("lending_borrowers").values(row).execute());
  return row;
}

export async function createSupplier(db: Kysely<DB>, s: SupplierInput, at: number) {
  const row = {
    id: s.id ?? randomUUID(),
    name: s.name,
    account: s.account,
    bic: s.bic ?? null,
    cnaps: s.cnaps ?? null,
    bank_name: s.bankName ?? null,
    created_at: at,
  };
  await insertNew("supplier", row.id, () => db.insertInto("lending_suppliers").values(row).execute());
  return row;
}

function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

export async function createFacility(
  db: Kysely<DB>,
  f: Omit<FacilityInput, "servicing"> & { servicing?: Partial<ServicingTerms> },
  at: number,
) {
  const borrower = await db
    .selectFrom("lending_borrowers")
    .select("id")
    .where("id", "=", f.borrowerId)
    .executeTakeFirst();
  if (!borrower) throw ERR_NOT_FOUND(`no borrower ${f.borrowerId}`);
  const row = {
    id: f.id ?? randomUUID(),
    borrower_id: f.borrowerId,
    currency: f.currency,
    limit_fen: f.limitFen,
    committed_fen: 0,
    term_start: f.termStart,
    term_end: addMonths(f.termStart, f.termMonths),
    max_drawdown_days: f.maxDrawdownDays,
    rate_ppm: ratePpm(f.annualRate),
    day_count: f.dayCount,
    thresholds: JSON.stringify(thresholdsSchema.parse(f.thresholds)),
    waterfall: JSON.stringify(f.waterfall),
    debtor_name: f.debtor.name,
    debtor_account: f.debtor.account,
    debtor_bic: f.debtor.bic ?? null,
    servicing: JSON.stringify(parseServicing(JSON.stringify(f.servicing ?? {}))),
    created_at: at,
  };
  await insertNew("facility", row.id, () => db.insertInto("lending_facilities").values(row).execute());
  return row;
}

export async function createBatch(db: Kysely<DB>, b: BatchInput, at: number) {
  const profile = loadProfile(b.species);
  const f = await db
    .selectFrom("lending_facilities")
    .selectAll()
    .where("id", "=", b.facilityId)
    .executeTakeFirst();
  if (!f) throw ERR_NOT_FOUND(`no facility ${b.facilityId}`);
  const sup = await db
    .selectFrom("lending_suppliers")
    .select("id")
    .where("id", "=", b.supplierId)
    .executeTakeFirst();
  if (!sup) throw ERR_NOT_FOUND(`no supplier ${b.supplierId}`);
  const cycleDays = b.cycleDays ?? profile.cycleDays;
  if (b.placedAt < Number(f.term_start) || b.placedAt + cycleDays * 86_400_000 > Number(f.term_end)) {
    throw ERR_LENDING_TERM(`batch cycle must lie within the facility term`);
  }
  const id = b.id ?? randomUUID();
  const plan = planTranches({
    profile,
    head: b.headPlaced,
    headAtDay: 0,
    placedAt: b.placedAt,
    cycleDays,
    trancheDays: b.trancheDays,
    feedPriceFenPerKg: b.feedPriceFenPerKg,
  });
  const tz = parseServicing(f.servicing).timeZone;
  await moneyTx(db, async (trx) => {
    // One open batch per barn and per device: a herd is financed once. The claim rows' primary
    // key makes two concurrent creations of overlapping batches fail on one of them.
    for (const key of claimKeys(b.barn, b.devices)) {
      const held = await trx
        .selectFrom("lending_batch_claims")
        .select("batch_id")
        .where("key", "=", key)
        .executeTakeFirst();
      if (held) throw openBatchError(key, held.batch_id);
      try {
        await trx.insertInto("lending_batch_claims").values({ key, batch_id: id }).execute();
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        throw openBatchError(key, "(created at the same moment)");
      }
    }
    const dupe = await trx.selectFrom("lending_batches").select("id").where("id", "=", id).executeTakeFirst();
    if (dupe) throw ERR_LENDING_DUPLICATE(`batch ${id} already exists`);
    await trx
      .insertInto("lending_batches")
      .values({
        id,
        facility_id: b.facilityId,
        barn: b.barn,
        species: b.species,
        head_placed: b.headPlaced,
        placed_at: b.placedAt,
        cycle_days: cycleDays,
        tranche_days: b.trancheDays,
        devices: JSON.stringify(b.devices),
        supplier_id: b.supplierId,
        feed_price_fen_per_kg: b.feedPriceFenPerKg,
        live_price_fen_per_kg: b.livePriceFenPerKg,
        status: "open",
        evidence_level: 0,
        interest_num: "0",
        interest_posted_fen: 0,
        accrued_through: localDayStart(b.placedAt, tz),
        created_at: at,
        closed_at: null,
        written_off_at: null,
        penalty_through: 0,
      })
      .execute();
    for (const p of plan) {
      await trx
        .insertInto("lending_tranches")
        .values({
          id: `${id}-t${p.seq}`,
          batch_id: id,
          seq: p.seq,
          due_at: p.dueAt,
          from_day: p.fromDay,
          to_day: p.toDay,
          planned_head: p.head,
          planned_kg: p.kg,
          planned_fen: p.fen,
          status: "planned",
          released_fen: 0,
          released_kg: 0,
          released_at: null,
          maturity_at: null,
          decided_at: null,
        })
        .execute();
    }
  });
  return { id, tranches: plan };
}

function openBatchError(key: string, batchId: string) {
  const [kind, name] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  return ERR_LENDING_OPEN_BATCH(`${kind} ${name} already finances open batch ${batchId}`, {
    conflictingBatch: batchId,
    [kind]: name,
  });
}
