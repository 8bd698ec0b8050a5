import { type Kysely, sql, type Transaction } from "kysely";
import type { DB } from "../db/schema.ts";
import { ERR_LENDING_LIMIT } from "./errors.ts";

type Q = Kysely<DB> | Transaction<DB>;

/**
 * Moves a facility's committed amount (reserved + drawn principal) by `deltaFen` in one conditional
 * UPDATE: the row is changed only if the result stays within [0, limit]. Two engines reserving at
 * once serialise on the row, and the second sees the first's amount, so the limit cannot be
 * overdrawn (the table's CHECK constraint is a second guard).
 */
export async function adjustCommitted(
  q: Q,
  facilityId: string,
  deltaFen: number,
  what: string,
): Promise<void> {
  if (deltaFen === 0) return;
  const r = await q
    .updateTable("lending_facilities")
    .set({ committed_fen: sql`committed_fen + ${deltaFen}` })
    .where("id", "=", facilityId)
    .where(sql<boolean>`committed_fen + ${deltaFen} <= limit_fen and committed_fen + ${deltaFen} >= 0`)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) {
    const f = await q
      .selectFrom("lending_facilities")
      .select(["limit_fen", "committed_fen"])
      .where("id", "=", facilityId)
      .executeTakeFirst();
    throw ERR_LENDING_LIMIT(
      `${what}: ${deltaFen} fen would take facility ${facilityId} to ${Number(f?.committed_fen ?? 0) + deltaFen} of limit ${f?.limit_fen ?? "?"} fen`,
    );
  }
}

/** Phase one: reserves a tranche's amount against the limit (one reservation per tranche, by unique key). */
export async function reserve(
  q: Q,
  facilityId: string,
  trancheId: string,
  amountFen: number,
  at: number,
  ttlMs: number,
): Promise<void> {
  await q
    .insertInto("lending_reservations")
    .values({
      id: `res-${trancheId}`,
      facility_id: facilityId,
      tranche_id: trancheId,
      amount_fen: amountFen,
      status: "held",
      created_at: at,
      expires_at: at + ttlMs,
      settled_at: null,
    })
    .execute();
  await adjustCommitted(q, facilityId, amountFen, "reserve");
}

/** Phase two on release: the reservation becomes drawn principal (topped up or trimmed to the amount). */
export async function postReservation(
  q: Q,
  facilityId: string,
  trancheId: string,
  amountFen: number,
  at: number,
) {
  const res = await q
    .selectFrom("lending_reservations")
    .selectAll()
    .where("tranche_id", "=", trancheId)
    .executeTakeFirst();
  const held = res?.status === "held" ? Number(res.amount_fen) : 0;
  await adjustCommitted(q, facilityId, amountFen - held, "post");
  if (res) {
    await q
      .updateTable("lending_reservations")
      .set({ status: "posted", amount_fen: amountFen, settled_at: at })
      .where("tranche_id", "=", trancheId)
      .execute();
  } else {
    await q
      .insertInto("lending_reservations")
      .values({
        id: `res-${trancheId}`,
        facility_id: facilityId,
        tranche_id: trancheId,
        amount_fen: amountFen,
        status: "posted",
        created_at: at,
        expires_at: at,
        settled_at: at,
      })
      .execute();
  }
}

/** Phase two on hold or expiry: the reserved amount returns to the limit. */
export async function voidReservation(
  q: Q,
  facilityId: string,
  trancheId: string,
  at: number,
): Promise<void> {
  const r = await q
    .updateTable("lending_reservations")
    .set({ status: "voided", settled_at: at })
    .where("tranche_id", "=", trancheId)
    .where("status", "=", "held")
    .returning("amount_fen")
    .executeTakeFirst();
  if (r) await adjustCommitted(q, facilityId, -Number(r.amount_fen), "void");
}

/**
 * The order a tick's decisions meet the limit in: first those that return room (holds, and
 * releases of no more than the tranche's held reservation), then those that draw on it, each group
 * in the order given. Returns the items' indices. Every path applies decisions in this order (the
 * set, applyDecisionsIn; its one-by-one fallback, applyAssessments), so a release is never refused
 * for room a hold in the same tick gives back, and any number of instances applying the same
 * decisions, by set or one by one, end alike: once room is returned, room only shrinks, so a release
 * one instance found no room for finds none at another.
 */
export function limitOrder<T>(
  items: T[],
  decision: (t: T) => { outcome: string; amountFen: number },
  heldFen: (t: T) => number,
): number[] {
  const draws = (t: T) => {
    const d = decision(t);
    return d.outcome !== "hold" && d.amountFen > heldFen(t);
  };
  const idx = items.map((_, i) => i);
  return [...idx.filter((i) => !draws(items[i]!)), ...idx.filter((i) => draws(items[i]!))];
}

/** The held reservation of each tranche that has one (what a release of it would not draw anew). */
export async function heldFenOf(q: Q, trancheIds: string[]): Promise<Map<string, number>> {
  if (trancheIds.length === 0) return new Map();
  const rows = await q
    .selectFrom("lending_reservations")
    .select(["tranche_id", "amount_fen"])
    .where("tranche_id", "in", trancheIds)
    .where("status", "=", "held")
    .execute();
  return new Map(rows.map((r) => [r.tranche_id, Number(r.amount_fen)]));
}
