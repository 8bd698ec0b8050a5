import type { CloudContext } from "../context.ts";
import { loadEvidenceSet } from "./evidence-set.ts";
import type { GateContext } from "./gate-context.ts";
import { DAY_MS } from "./interest.ts";
import { loadProfile } from "./profile.ts";
import { qualityParams } from "./quality-window.ts";
import { parseThresholds } from "./thresholds.ts";

const H = 3_600_000;

/**
 * Builds the gate contexts of a set of tranches in a fixed number of queries (their tranches and
 * batches' earlier tranches, batches, facility thresholds, payment orders of earlier releases, and
 * one evidence set covering every window): each tranche's window runs from its batch's previous
 * tranche's due time (or a day before placement) to `windowTo`. One tranche is the set of one.
 * Tranches of one batch see that batch as it is now: decide them one round at a time (engine.ts).
 */
export async function gateContexts(
  ctx: CloudContext,
  trancheIds: string[],
  asOf: number,
  windowTo = asOf,
): Promise<GateContext[]> {
  if (trancheIds.length === 0) return [];
  const db = ctx.db.kysely;
  const all = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("batch_id", "in", (eb) =>
      eb.selectFrom("lending_tranches").select("batch_id").where("id", "in", trancheIds),
    )
    .orderBy("seq", "desc")
    .execute();
  const batchIds = [...new Set(all.map((t) => t.batch_id))];
  const batches = batchIds.length
    ? await db.selectFrom("lending_batches").selectAll().where("id", "in", batchIds).execute()
    : [];
  const facilityIds = [...new Set(batches.map((b) => b.facility_id))];
  const facilities = facilityIds.length
    ? await db
        .selectFrom("lending_facilities")
        .select(["id", "thresholds"])
        .where("id", "in", facilityIds)
        .execute()
    : [];
  const byBatch = new Map(batches.map((b) => [b.id, b]));
  const thresholds = new Map(facilities.map((f) => [f.id, f.thresholds]));
  const released = all.filter((t) => t.status === "released");
  const refs = released.length
    ? await db
        .selectFrom("lending_payment_orders")
        .select(["tranche_id", "end_to_end_id"])
        .where(
          "tranche_id",
          "in",
          released.map((t) => t.id),
        )
        .execute()
    : [];
  const refOf = new Map(refs.map((r) => [r.tranche_id, r.end_to_end_id]));
  const out = trancheIds.map((id): GateContext => {
    const tranche = all.find((t) => t.id === id);
    const batch = tranche && byBatch.get(tranche.batch_id);
    const th = batch && thresholds.get(batch.facility_id);
    if (!tranche || !batch || th === undefined)
      throw new Error(`no tranche ${id} with its batch and facility`);
    const earlier = all.filter((t) => t.batch_id === batch.id && t.seq < tranche.seq);
    const rel = earlier.filter((t) => t.status === "released");
    return {
      evidence: { rows: new Map(), unplaced: [], streams: [], gaps: [] },
      batch,
      devices: JSON.parse(batch.devices) as string[],
      profile: loadProfile(batch.species),
      th: parseThresholds(th),
      tranche,
      prevReleased: rel[0],
      released: rel.map((t) => ({ ...t, endToEndId: refOf.get(t.id) ?? null })),
      findings: [],
      from: earlier[0] ? Number(earlier[0].due_at) : Number(batch.placed_at) - DAY_MS,
      to: windowTo,
      asOf,
    };
  });
  // One evidence set for every window: what each gate reads is selected from it in memory.
  const lows = out.map((g) =>
    Math.min(
      g.from - qualityParams(g).lookbackDays * DAY_MS,
      ...g.released.filter((t) => t.released_at !== null).map((t) => Number(t.released_at) - 6 * H),
    ),
  );
  const evidence = await loadEvidenceSet(db, {
    devices: out.flatMap((g) => g.devices),
    from: Math.min(...lows),
    to: Math.max(windowTo, asOf),
    asOf,
    receivedFrom: Math.min(...out.map((g) => g.from)),
  });
  for (const g of out) g.evidence = evidence;
  return out;
}
