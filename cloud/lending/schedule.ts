import type { Kysely, Transaction } from "kysely";
import type { DB } from "../db/schema.ts";
import { DAY_MS } from "./interest.ts";
import { at, type SpeciesProfile, survival } from "./profile.ts";

export interface PlannedTranche {
  seq: number;
  fromDay: number;
  toDay: number;
  dueAt: number;
  head: number;
  kg: number;
  fen: number;
}

/**
 * The tranche plan: one tranche per period (weekly by default), due at the period's start so feed
 * arrives before it is eaten. kg = Σ over the period's days of intake(age) × head alive(age),
 * rounded to whole kg; fen = kg × feed price (integers throughout).
 */
export function planTranches(p: {
  profile: SpeciesProfile;
  head: number;
  /** Age (days) at which `head` was counted; later ages apply the profile's survival from there. */
  headAtDay: number;
  placedAt: number;
  cycleDays: number;
  trancheDays: number;
  feedPriceFenPerKg: number;
  fromSeq?: number;
}): PlannedTranche[] {
  const out: PlannedTranche[] = [];
  const n = Math.ceil(p.cycleDays / p.trancheDays);
  const alive = (d: number) => (p.head * survival(p.profile, d)) / survival(p.profile, p.headAtDay);
  for (let seq = p.fromSeq ?? 0; seq < n; seq++) {
    const fromDay = seq * p.trancheDays;
    const toDay = Math.min(p.cycleDays, fromDay + p.trancheDays);
    let kg = 0;
    for (let d = fromDay; d < toDay; d++) kg += at(p.profile.feedIntakeKg, d + 0.5) * alive(d + 0.5);
    const kgInt = Math.round(kg);
    out.push({
      seq,
      fromDay,
      toDay,
      dueAt: p.placedAt + fromDay * DAY_MS,
      head: Math.round(alive(fromDay)),
      kg: kgInt,
      fen: kgInt * p.feedPriceFenPerKg,
    });
  }
  return out;
}

/** Re-plans the batch's still-planned tranches from a verified head count (evidence changed the herd). */
export async function replan(
  q: Kysely<DB> | Transaction<DB>,
  batch: {
    id: string;
    placed_at: number;
    cycle_days: number;
    tranche_days: number;
    feed_price_fen_per_kg: number;
  },
  profile: SpeciesProfile,
  verifiedHead: number,
  atMs: number,
): Promise<number> {
  const planned = await q
    .selectFrom("lending_tranches")
    .select(["id", "seq"])
    .where("batch_id", "=", batch.id)
    .where("status", "=", "planned")
    .execute();
  if (planned.length === 0) return 0;
  const plan = planTranches({
    profile,
    head: verifiedHead,
    headAtDay: Math.max(0, (atMs - Number(batch.placed_at)) / DAY_MS),
    placedAt: Number(batch.placed_at),
    cycleDays: batch.cycle_days,
    trancheDays: batch.tranche_days,
    feedPriceFenPerKg: Number(batch.feed_price_fen_per_kg),
  });
  for (const t of planned) {
    const p = plan.find((x) => x.seq === t.seq);
    if (!p) continue;
    // Conditional on status: a tranche an engine has just reserved keeps the amount it reserved.
    await q
      .updateTable("lending_tranches")
      .set({ planned_head: p.head, planned_kg: p.kg, planned_fen: p.fen })
      .where("id", "=", t.id)
      .where("status", "=", "planned")
      .execute();
  }
  return planned.length;
}
