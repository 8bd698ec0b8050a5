import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { DB } from "../db/schema.ts";
import { applyDecision } from "./apply-decision.ts";
import { ERR_LENDING_MAKER_CHECKER, ERR_LENDING_STATE } from "./errors.ts";

/**
 * Officer overrides with maker-checker. A hold takes effect at once (it cannot move money). A
 * release is recorded as pending and moves money only when a second officer, not the maker,
 * approves it; approval applies it through the same exactly-once path as the engine.
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
  const t = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("id", "=", o.trancheId)
    .executeTakeFirst();
  if (!t) throw ERR_NOT_FOUND(`no tranche ${o.trancheId}`);
  const allowed = o.action === "release" ? ["held", "planned", "reserved"] : ["planned", "reserved"];
  if (!allowed.includes(t.status))
    throw ERR_LENDING_STATE(`tranche ${t.id} is ${t.status}; cannot ${o.action} it`);
  const id = randomUUID();
  const amountFen = o.action === "release" ? (o.amountFen ?? Number(t.planned_fen)) : 0;
  await db
    .insertInto("lending_overrides")
    .values({
      id,
      tranche_id: t.id,
      action: o.action,
      amount_fen: amountFen,
      reason: o.reason,
      maker: o.maker,
      checker: null,
      status: o.action === "hold" ? "applied" : "pending",
      created_at: o.at,
      decided_at: o.action === "hold" ? o.at : null,
    })
    .execute();
  if (o.action === "hold") {
    await applyDecision(db, {
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
  return { id, status: o.action === "hold" ? "applied" : "pending", amountFen };
}

export async function approveOverride(db: Kysely<DB>, overrideId: string, checker: string, at: number) {
  const o = await db
    .selectFrom("lending_overrides")
    .selectAll()
    .where("id", "=", overrideId)
    .executeTakeFirst();
  if (!o) throw ERR_NOT_FOUND(`no override ${overrideId}`);
  if (o.maker === checker)
    throw ERR_LENDING_MAKER_CHECKER(
      `override ${overrideId} was made by ${checker}; another officer must approve it`,
    );
  const claimed = await db
    .updateTable("lending_overrides")
    .set({ status: "approved", checker, decided_at: at })
    .where("id", "=", overrideId)
    .where("status", "=", "pending")
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1)
    throw ERR_LENDING_STATE(`override ${overrideId} is ${o.status}, not pending`);
  const t = await db
    .selectFrom("lending_tranches")
    .selectAll()
    .where("id", "=", o.tranche_id)
    .executeTakeFirstOrThrow();
  const price = await db
    .selectFrom("lending_batches")
    .select("feed_price_fen_per_kg")
    .where("id", "=", t.batch_id)
    .executeTakeFirstOrThrow();
  const kg = Math.floor(Number(o.amount_fen) / Number(price.feed_price_fen_per_kg));
  const r = await applyDecision(db, {
    trancheId: t.id,
    decision: {
      outcome: "release",
      amountFen: Number(o.amount_fen),
      kg,
      reasons: [`override by ${o.maker}, approved by ${checker}: ${o.reason}`],
      gates: [],
    },
    by: `override:${o.id}`,
    from: ["held", "planned", "reserved"],
    at,
  });
  if (!r.applied) {
    await db
      .updateTable("lending_overrides")
      .set({ status: "lapsed" })
      .where("id", "=", overrideId)
      .execute();
    throw ERR_LENDING_STATE(`tranche ${t.id} was decided meanwhile; nothing released`);
  }
  return { overrideId, trancheId: t.id, orderId: r.orderId, amountFen: Number(o.amount_fen) };
}
