import { randomUUID } from "node:crypto";
import type { Kysely, UpdateObject } from "kysely";
import type { DB } from "../db/schema.ts";
import { moveCommitted } from "./apply-batch.ts";
import { ERR_LENDING_LIMIT, ERR_LENDING_STATE } from "./errors.ts";
import { lockedRows } from "./money-tx.ts";
import { parseThresholds } from "./thresholds.ts";

const H = 3_600_000;

export interface DueTranche {
  id: string;
  batch_id: string;
  planned_fen: number;
  facility_id: string;
  thresholds: string;
}

/**
 * Phase one for a set of due tranches inside the caller's moneyTx, with the effect of the engine's
 * per-tranche reserveDue on each in the order given: a planned tranche is claimed (planned →
 * reserved) and its amount reserved if its facility's limit still has room at that point, and held
 * with the facility-limit reason (the decision applyDecision records for it) if not; a tranche no
 * longer planned is left alone. Locks by set, batches → tranches → facilities; the limit is walked
 * in memory from the committed amount read under the lock and written in one conditional UPDATE.
 * Anything unexpected (a tranche with a reservation already, a row changed meanwhile) throws, and
 * the caller reserves the set one tranche at a time instead.
 */
export async function reserveDueIn(trx: Kysely<DB>, due: DueTranche[], now: number): Promise<void> {
  if (due.length === 0) return;
  const ids = due.map((t) => t.id);
  if (new Set(ids).size !== ids.length) throw ERR_LENDING_STATE("a tranche appears twice in one set");
  await lockedRows(
    trx,
    "lending_batches",
    due.map((t) => t.batch_id),
  );
  const tranches = new Map((await lockedRows(trx, "lending_tranches", ids)).map((t) => [t.id, t]));
  const facilities = new Map(
    (
      await lockedRows(
        trx,
        "lending_facilities",
        due.map((t) => t.facility_id),
      )
    ).map((f) => [f.id, f]),
  );
  const reserved = await trx
    .selectFrom("lending_reservations")
    .select("tranche_id")
    .where("tranche_id", "in", ids)
    .execute();
  if (reserved.length)
    throw ERR_LENDING_STATE(`tranche ${reserved[0]!.tranche_id} has a reservation already`);
  const committed = new Map([...facilities.values()].map((f) => [f.id, Number(f.committed_fen)]));
  const claim: DueTranche[] = [];
  const limited: Array<{ t: DueTranche; reason: string }> = [];
  for (const t of due) {
    const row = tranches.get(t.id);
    const f = facilities.get(t.facility_id);
    if (!row || !f || row.batch_id !== t.batch_id) throw ERR_LENDING_STATE(`tranche ${t.id} changed`);
    if (row.status !== "planned") continue;
    const amount = Number(t.planned_fen);
    const c = committed.get(f.id)! + amount;
    if (amount !== 0 && (c > Number(f.limit_fen) || c < 0)) {
      const e = ERR_LENDING_LIMIT(
        `reserve: ${amount} fen would take facility ${f.id} to ${c} of limit ${f.limit_fen} fen`,
      );
      limited.push({ t, reason: `facility limit: ${e.message}` });
      continue;
    }
    committed.set(f.id, c);
    claim.push(t);
  }
  const update = async (group: DueTranche[], set: UpdateObject<DB, "lending_tranches">) => {
    if (group.length === 0) return;
    const r = await trx
      .updateTable("lending_tranches")
      .set(set)
      .where(
        "id",
        "in",
        group.map((t) => t.id),
      )
      .where("status", "=", "planned")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== group.length)
      throw ERR_LENDING_STATE("a tranche of the set was claimed concurrently");
  };
  await update(claim, { status: "reserved" });
  if (claim.length)
    await trx
      .insertInto("lending_reservations")
      .values(
        claim.map((t) => ({
          id: `res-${t.id}`,
          facility_id: t.facility_id,
          tranche_id: t.id,
          amount_fen: Number(t.planned_fen),
          status: "held",
          created_at: now,
          expires_at: now + parseThresholds(t.thresholds).reservationHours * H,
          settled_at: null,
        })),
      )
      .execute();
  await moveCommitted(trx, facilities, committed);
  await update(
    limited.map((l) => l.t),
    {
      status: "held",
      released_fen: 0,
      released_kg: 0,
      released_at: null,
      maturity_at: null,
      decided_at: now,
    },
  );
  if (limited.length)
    await trx
      .insertInto("lending_decisions")
      .values(
        limited.map(({ t, reason }) => ({
          id: randomUUID(),
          tranche_id: t.id,
          outcome: "hold",
          amount_fen: 0,
          reasons: JSON.stringify([reason]),
          gates: JSON.stringify([]),
          decided_by: "engine",
          decided_at: now,
        })),
      )
      .execute();
}
