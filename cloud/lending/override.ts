import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import { applyDecisionIn } from "./apply-decision.ts";
import { ERR_LENDING_MAKER_CHECKER, ERR_LENDING_OVERRIDE_CAP, ERR_LENDING_STATE } from "./errors.ts";
import { lockRows, moneyTx } from "./money-tx.ts";

/**
 * Officer overrides with maker-checker. A hold takes effect at once (it cannot move money). A
 * release is recorded as pending and moves money only when a second officer, not the maker,
 * approves it; approval applies it through the same exactly-once path as the engine.
 *
 * Cap (issue #11: two officers once paid ten times a tranche's plan): a release above the
 * tranche's planned amount needs a second approval level, i.e. two checkers besides the maker;
 * above the facility's available limit (plus what the tranche already holds reserved) it is
 * refused outright. A pending override can be rejected by another officer or withdrawn by its
 * maker, each with a reason.
 */
export async function requestOverride(
  db: Kysely<DB>,
  o: {
    trancheId: string;
    action: "release" | "hold";
    amountFen?: number;
    reason: string;
    maker: string;
    at: number;
  },
) {
  return moneyTx(db, async (trx) => {
    const t0 = await trx
      .selectFrom("lending_tranches")
      .select("batch_id")
      .where("id", "=", o.trancheId)
      .executeTakeFirst();
    if (!t0) throw ERR_NOT_FOUND(`no tranche ${o.trancheId}`);
    await lockRows(trx, "lending_batches", [t0.batch_id]);
    await lockRows(trx, "lending_tranches", [o.trancheId]);
    const t = await trx
      .selectFrom("lending_tranches")
      .selectAll()
      .where("id", "=", o.trancheId)
      .executeTakeFirstOrThrow();
    const allowed = o.action === "release" ? ["held", "planned", "reserved"] : ["planned", "reserved"];
    if (!allowed.includes(t.status))
      throw ERR_LENDING_STATE(`tranche ${t.id} is ${t.status}; cannot ${o.action} it`);
    const amountFen = o.action === "release" ? (o.amountFen ?? Number(t.planned_fen)) : 0;
    let approvalsNeeded = 1;
    if (o.action === "release") {
      if (amountFen <= 0) throw ERR_LENDING_STATE(`a release override needs a positive amount`);
      const room = await availableFor(trx, t.batch_id, t.id);
      if (amountFen > room)
        throw ERR_LENDING_OVERRIDE_CAP(
          `override of ${amountFen} fen exceeds the ${room} fen the facility has available for tranche ${t.id}`,
        );
      if (amountFen > Number(t.planned_fen)) approvalsNeeded = 2;
    }
    const id = randomUUID();
    const status = o.action === "hold" ? "applied" : "pending";
    await trx
      .insertInto("lending_overrides")
      .values({
        id,
        tranche_id: t.id,
        action: o.action,
        amount_fen: amountFen,
        reason: o.reason,
        maker: o.maker,
        checker: null,
        status,
        created_at: o.at,
        decided_at: o.action === "hold" ? o.at : null,
        approvals_needed: approvalsNeeded,
        first_checker: null,
        closed_by: null,
        closed_reason: null,
      })
      .execute();
    if (o.action === "hold") {
      await applyDecisionIn(trx, {
        trancheId: t.id,
        decision: {
          outcome: "hold",
          amountFen: 0,
          kg: 0,
          reasons: [`officer ${o.maker} held it: ${o.reason}`],
          gates: [],
        },
        by: `override:${id}`,
        from: ["planned", "reserved"],
        at: o.at,
      });
    }
    return { id, status, amountFen, approvalsNeeded, plannedFen: Number(t.planned_fen) };
  });
}

/** What a release of this tranche may pay: the facility's free limit plus the tranche's own reservation. */
async function availableFor(trx: Kysely<DB>, batchId: string, trancheId: string): Promise<number> {
  const f = await trx
    .selectFrom("lending_batches as b")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["f.limit_fen", "f.committed_fen"])
    .where("b.id", "=", batchId)
    .executeTakeFirstOrThrow();
  const res = await trx
    .selectFrom("lending_reservations")
    .select("amount_fen")
    .where("tranche_id", "=", trancheId)
    .where("status", "=", "held")
    .executeTakeFirst();
  return Number(f.limit_fen) - Number(f.committed_fen) + Number(res?.amount_fen ?? 0);
}

async function lockOverride(trx: Kysely<DB>, overrideId: string) {
  const o0 = await trx
    .selectFrom("lending_overrides")
    .selectAll()
    .where("id", "=", overrideId)
    .executeTakeFirst();
  if (!o0) throw ERR_NOT_FOUND(`no override ${overrideId}`);
  const t = await trx
    .selectFrom("lending_tranches")
    .select("batch_id")
    .where("id", "=", o0.tranche_id)
    .executeTakeFirstOrThrow();
  await lockRows(trx, "lending_batches", [t.batch_id]);
  await lockRows(trx, "lending_overrides", [overrideId]);
  return trx
    .selectFrom("lending_overrides")
    .selectAll()
    .where("id", "=", overrideId)
    .executeTakeFirstOrThrow();
}

export async function approveOverride(db: Kysely<DB>, overrideId: string, checker: string, at: number) {
  return moneyTx(db, async (trx) => {
    const o = await lockOverride(trx, overrideId);
    if (o.maker === checker || o.first_checker === checker)
      throw ERR_LENDING_MAKER_CHECKER(
        `override ${overrideId} was made or already approved by ${checker}; another officer must approve it`,
      );
    if (o.status !== "pending") throw ERR_LENDING_STATE(`override ${overrideId} is ${o.status}, not pending`);
    if (Number(o.approvals_needed) > 1 && o.first_checker === null) {
      await trx
        .updateTable("lending_overrides")
        .set({ first_checker: checker })
        .where("id", "=", overrideId)
        .where("status", "=", "pending")
        .execute();
      return {
        overrideId,
        trancheId: o.tranche_id,
        status: "pending",
        amountFen: Number(o.amount_fen),
        message: `first of two approvals recorded: ${o.amount_fen} fen is above the tranche's plan`,
      };
    }
    const t = await trx
      .selectFrom("lending_tranches")
      .selectAll()
      .where("id", "=", o.tranche_id)
      .executeTakeFirstOrThrow();
    const price = await trx
      .selectFrom("lending_batches")
      .select("feed_price_fen_per_kg")
      .where("id", "=", t.batch_id)
      .executeTakeFirstOrThrow();
    const kg = Math.floor(Number(o.amount_fen) / Number(price.feed_price_fen_per_kg));
    const by = o.first_checker ? `${o.first_checker} and ${checker}` : checker;
    const r = await applyDecisionIn(trx, {
      trancheId: t.id,
      decision: {
        outcome: "release",
        amountFen: Number(o.amount_fen),
        kg,
        reasons: [`override by ${o.maker}, approved by ${by}: ${o.reason}`],
        gates: [],
      },
      by: `override:${o.id}`,
      from: ["held", "planned", "reserved"],
      at,
    });
    await trx
      .updateTable("lending_overrides")
      .set(
        r.applied
          ? { status: "approved", checker, decided_at: at }
          : { status: "lapsed", checker, decided_at: at, closed_reason: "tranche decided meanwhile" },
      )
      .where("id", "=", overrideId)
      .where("status", "=", "pending")
      .execute();
    if (!r.applied) return { overrideId, trancheId: t.id, status: "lapsed", amountFen: 0 };
    return {
      overrideId,
      trancheId: t.id,
      status: "approved",
      orderId: r.orderId,
      amountFen: Number(o.amount_fen),
    };
  });
}

/** Ends a pending override without moving money: rejected by another officer, or withdrawn by its maker. */
export async function closeOverride(
  db: Kysely<DB>,
  overrideId: string,
  how: "rejected" | "withdrawn",
  by: string,
  reason: string,
  at: number,
) {
  return moneyTx(db, async (trx) => {
    const o = await lockOverride(trx, overrideId);
    if (o.status !== "pending") throw ERR_LENDING_STATE(`override ${overrideId} is ${o.status}, not pending`);
    if (how === "rejected" && o.maker === by)
      throw ERR_LENDING_MAKER_CHECKER(
        `${by} made override ${overrideId}: withdraw it instead of rejecting it`,
      );
    if (how === "withdrawn" && o.maker !== by)
      throw ERR_LENDING_MAKER_CHECKER(`only its maker ${o.maker} can withdraw override ${overrideId}`);
    await trx
      .updateTable("lending_overrides")
      .set({ status: how, closed_by: by, closed_reason: reason, decided_at: at })
      .where("id", "=", overrideId)
      .where("status", "=", "pending")
      .execute();
    return { overrideId, trancheId: o.tranche_id, status: how, by, reason };
  });
}
