import type { CloudContext } from "../context.ts";
import { applyDecision } from "./apply-decision.ts";
import { checkCollateralMany, collateralOfMany } from "./collateral.ts";
import { ERR_LENDING_LIMIT } from "./errors.ts";
import { evaluateTranches } from "./evaluate.ts";
import { reserve } from "./limit.ts";
import { lockRows, moneyTx } from "./money-tx.ts";
import { perFacility, perFacilityGroup } from "./per-facility.ts";
import { recheckHeld } from "./recheck.ts";
import { reserveDueIn } from "./reserve-batch.ts";
import { parseThresholds } from "./thresholds.ts";

export interface LendingEngineOptions {
  /** Timer period; 0 or absent disables the timer (callers tick themselves, as scenarios do). */
  intervalMs?: number;
}

export interface LendingEngine {
  tick(now: number): Promise<void>;
  stop(): void;
}

const H = 3_600_000;

/** Due tranches reserved in one transaction (whole facilities; bounds a set's locks and parameters). */
export const RESERVATION_SET = 50;

/** Phase one for a due tranche, alone (what reserveDueIn does for a set): claim it (planned → reserved) and reserve its amount, atomically. */
export async function reserveDue(
  ctx: CloudContext,
  t: { id: string; batch_id: string; planned_fen: number; facility_id: string; thresholds: string },
  now: number,
) {
  const db = ctx.db.kysely;
  const b = t;
  const ttl = parseThresholds(t.thresholds).reservationHours * H;
  try {
    await moneyTx(db, async (trx) => {
      await lockRows(trx, "lending_batches", [t.batch_id]);
      const r = await trx
        .updateTable("lending_tranches")
        .set({ status: "reserved" })
        .where("id", "=", t.id)
        .where("status", "=", "planned")
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return;
      await reserve(trx, b.facility_id, t.id, Number(t.planned_fen), now, ttl);
    });
  } catch (e) {
    if (!ERR_LENDING_LIMIT.is(e)) throw e;
    await applyDecision(db, {
      trancheId: t.id,
      decision: {
        outcome: "hold",
        amountFen: 0,
        kg: 0,
        reasons: [`facility limit: ${e.message}`],
        gates: [],
      },
      by: "engine",
      from: ["planned"],
      at: now,
    });
  }
}

/** One pass: void stale reservations, reserve due tranches, decide reserved ones, check collateral. */
export async function lendingTick(ctx: CloudContext, now: number): Promise<void> {
  const db = ctx.db.kysely;
  const stale = await db
    .selectFrom("lending_reservations as r")
    .innerJoin("lending_tranches as t", "t.id", "r.tranche_id")
    .select(["r.tranche_id"])
    .where("r.status", "=", "held")
    .where("r.expires_at", "<", now)
    .execute();
  for (const s of stale) {
    await applyDecision(db, {
      trancheId: s.tranche_id,
      decision: {
        outcome: "hold",
        amountFen: 0,
        kg: 0,
        reasons: ["reservation expired before a decision"],
        gates: [],
      },
      by: "engine",
      from: ["reserved"],
      at: now,
    });
  }
  const open = db
    .selectFrom("lending_tranches as t")
    .innerJoin("lending_batches as b", "b.id", "t.batch_id")
    .where("b.status", "=", "open")
    .where("t.due_at", "<=", now);
  // The facility and its thresholds come with the due tranches (one query), not one lookup each.
  const due = await open
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["t.id", "t.batch_id", "t.planned_fen", "b.facility_id", "f.thresholds"])
    .where("t.status", "=", "planned")
    .orderBy("t.due_at")
    .execute();
  // Reservations by set: whole facilities' due tranches (in due order: the limit decides which fit)
  // in one transaction each; a set that fails is reserved one tranche at a time instead.
  await perFacilityGroup(
    ctx,
    due,
    (t) => t.facility_id,
    RESERVATION_SET,
    async (set) => {
      try {
        await moneyTx(db, (trx) => reserveDueIn(trx, set, now));
      } catch (e) {
        ctx.log.warn({ err: e, tranches: set.length }, "lending: set of reservations failed; one by one");
        await perFacility(
          ctx,
          set,
          (t) => t.facility_id,
          (t) => reserveDue(ctx, t, now),
        );
      }
    },
  );
  // Reserved tranches are decided a round at a time: each batch's oldest first, as a set across
  // batches (evaluateTranches: inputs in a few queries per chunk, the chunk's decisions in one transaction).
  const rounds: string[][] = [];
  const perBatch = new Map<string, number>();
  for (const t of await open
    .select(["t.id", "t.batch_id"])
    .where("t.status", "=", "reserved")
    .orderBy("t.due_at")
    .orderBy("t.seq")
    .execute()) {
    const r = perBatch.get(t.batch_id) ?? 0;
    perBatch.set(t.batch_id, r + 1);
    const round = rounds[r] ?? [];
    round.push(t.id);
    rounds[r] = round;
  }
  for (const ids of rounds) {
    const results = await evaluateTranches(ctx, ids, now);
    results.forEach((r, i) => {
      // One bad tranche must not stop the others; it stays reserved and is retried next tick.
      if (r instanceof Error)
        ctx.log.error({ err: r, tranche: ids[i] }, "lending: tranche evaluation failed");
    });
  }
  await recheckHeld(ctx, now);
  // Every open batch's collateral in a fixed number of queries; the alerts are then raised per batch
  // (raising one changes no other batch's collateral).
  const openBatches = await db
    .selectFrom("lending_batches")
    .selectAll()
    .where("status", "=", "open")
    .where("placed_at", "<=", now)
    .execute();
  const collateral = await collateralOfMany(ctx, openBatches, now);
  await checkCollateralMany(ctx, openBatches, now, collateral);
}

/** Starts the engine: the cloud service calls this; each tick evaluates due tranches at ctx.now(). */
export function startLendingEngine(ctx: CloudContext, opts: LendingEngineOptions = {}): LendingEngine {
  let running: Promise<void> | null = null;
  const tick = async (now: number) => {
    // Ticks never overlap within one instance; other instances are kept apart by the database.
    while (running) await running;
    running = lendingTick(ctx, now).finally(() => {
      running = null;
    });
    return running;
  };
  const timer = opts.intervalMs
    ? setInterval(() => {
        tick(ctx.now()).catch((e: unknown) => ctx.log.error({ err: e }, "lending: tick failed"));
      }, opts.intervalMs)
    : null;
  timer?.unref();
  return {
    tick,
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}
