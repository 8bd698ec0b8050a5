import { randomUUID } from "node:crypto";
import { type Kysely, sql, type UpdateObject } from "kysely";
import type { DB } from "../db/schema.ts";
import { accrue } from "./accrual.ts";
import { type AlertInput, raiseAlerts } from "./alerts.ts";
import { type ApplyInput, paymentOrder, releaseTx } from "./apply-decision.ts";
import { ERR_LENDING_LIMIT, ERR_LENDING_STATE, ERR_LENDING_TERM } from "./errors.ts";
import { postReleaseFees } from "./fees.ts";
import { DAY_MS } from "./interest.ts";
import { postTxs } from "./ledger.ts";
import { limitOrder } from "./limit.ts";
import { lockedRows } from "./money-tx.ts";
import { caseOf, groupBy } from "./set-sql.ts";
import { CENSUS_INTERVALS } from "./thresholds.ts";

export interface BatchItem {
  input: ApplyInput;
  /** Alerts raised with the decision if it applies (deduplicated by key; the first of a key wins). */
  alerts?: AlertInput[];
  /** If the decision applies, the batch's evidence level rises one step with this reason (raiseEvidenceDemand). */
  demand?: string;
}

export interface Command {
  device: string;
  name: "census.interval";
  args: { every: string };
  batchId: string;
}

export interface BatchApplied {
  results: Array<{ applied: boolean; orderId?: string }>;
  /** The census.interval commands of the raised demands, to send once the transaction committed. */
  commands: Command[];
}

const byId = <R extends { id: string }>(rows: R[]) => new Map(rows.map((r) => [r.id, r]));

/**
 * Applies decisions of tranches of distinct batches inside the caller's moneyTx, with the same
 * effects as applyDecisionIn on each in turn (and, behind each applied one, its alerts and evidence
 * demand), in a fixed number of statements: the locks by set in the order every money write takes
 * them (batches → tranches → facilities, each set sorted), the conditional status updates checked
 * row for row, one reservation settlement, one limit update per set (every intermediate committed
 * amount checked in memory in the decisions' order, as adjustCommitted would one by one), the ledger
 * by postTxs, one insert each of decisions, payment orders, alerts and demands, all in the limit's
 * order (limitOrder: holds and releases within their reservation before releases drawing more). Any error (a limit,
 * a closed batch, a unique key, a row decided meanwhile) throws: the caller's transaction rolls back
 * whole and the caller applies the decisions one at a time instead. Releases also accrue their
 * batch's interest and book their fees one by one (accrue, postReleaseFees), as applyDecisionIn.
 */
export async function applyDecisionsIn(trx: Kysely<DB>, items: BatchItem[]): Promise<BatchApplied> {
  const ids = items.map((i) => i.input.trancheId);
  if (ids.length === 0) return { results: [], commands: [] };
  if (new Set(ids).size !== ids.length) throw ERR_LENDING_STATE("a tranche appears twice in one set");
  const t0 = await trx
    .selectFrom("lending_tranches")
    .select(["id", "batch_id"])
    .where("id", "in", ids)
    .execute();
  const batchOf = new Map(t0.map((t) => [t.id, t.batch_id]));
  for (const id of ids) if (!batchOf.has(id)) throw ERR_LENDING_STATE(`no tranche ${id}`);
  if (new Set(batchOf.values()).size !== ids.length)
    throw ERR_LENDING_STATE("a set of decisions takes one tranche per batch");
  const batches = byId(await lockedRows(trx, "lending_batches", [...batchOf.values()]));
  const tranches = byId(await lockedRows(trx, "lending_tranches", ids));
  const facilities = byId(
    await lockedRows(
      trx,
      "lending_facilities",
      [...batches.values()].map((b) => b.facility_id),
    ),
  );
  const reservations = new Map(
    (await trx.selectFrom("lending_reservations").selectAll().where("tranche_id", "in", ids).execute()).map(
      (r) => [r.tranche_id, r],
    ),
  );
  // What applyDecisionIn would do to each, in order: the limit checked at every step, as adjustCommitted.
  const committed = new Map([...facilities.values()].map((f) => [f.id, Number(f.committed_fen)]));
  const move = (f: { id: string; limit_fen: number }, delta: number, what: string) => {
    if (delta === 0) return;
    const c = committed.get(f.id)! + delta;
    if (c > Number(f.limit_fen) || c < 0)
      throw ERR_LENDING_LIMIT(
        `${what}: ${delta} fen would take facility ${f.id} to ${c} of limit ${f.limit_fen} fen`,
      );
    committed.set(f.id, c);
  };
  const results: BatchApplied["results"] = new Array(items.length);
  const applied: Array<{ it: BatchItem; release: boolean; maturity: number; orderId?: string }> = [];
  const heldOf = (id: string) => {
    const r = reservations.get(id);
    return r?.status === "held" ? Number(r.amount_fen) : 0;
  };
  // In the limit's order (limitOrder): room returned first, then drawn, as the one-by-one path.
  for (const i of limitOrder(
    items,
    (it) => it.input.decision,
    (it) => heldOf(it.input.trancheId),
  )) {
    const it = items[i]!;
    const { decision: d, at } = it.input;
    const release = d.outcome !== "hold" && d.amountFen > 0;
    const t = tranches.get(it.input.trancheId)!;
    const b = batches.get(t.batch_id)!;
    const f = facilities.get(b.facility_id)!;
    const maturity = Math.min(at + f.max_drawdown_days * DAY_MS, Number(f.term_end));
    if (release && at > Number(f.term_end))
      throw ERR_LENDING_TERM(`facility ${f.id} term ended; no drawdowns after it`);
    if (!it.input.from.includes(t.status)) {
      results[i] = { applied: false };
      continue;
    }
    if (release && b.status !== "open")
      throw ERR_LENDING_STATE(`batch ${b.id} is ${b.status}; nothing is released`);
    const held = heldOf(t.id);
    if (release) move(f, d.amountFen - held, "post");
    else move(f, -held, "void");
    const a = { it, release, maturity, orderId: release ? randomUUID() : undefined };
    applied.push(a);
    results[i] = { applied: true, ...(a.orderId ? { orderId: a.orderId } : {}) };
  }
  if (applied.length === 0) return { results, commands: [] };
  const tOf = (a: (typeof applied)[number]) => tranches.get(a.it.input.trancheId)!;
  const bOf = (a: (typeof applied)[number]) => batches.get(tOf(a).batch_id)!;
  const fOf = (a: (typeof applied)[number]) => facilities.get(bOf(a).facility_id)!;
  const claim = async (group: typeof applied, set: UpdateObject<DB, "lending_tranches">) => {
    const r = await trx
      .updateTable("lending_tranches")
      .set(set)
      .where(
        "id",
        "in",
        group.map((a) => a.it.input.trancheId),
      )
      .where("status", "in", group[0]!.it.input.from)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== group.length)
      throw ERR_LENDING_STATE("a tranche of the set was decided concurrently");
  };
  const pairs = (group: typeof applied, v: (a: (typeof applied)[number]) => number) =>
    group.map((a) => [a.it.input.trancheId, v(a)] as [string, number]);
  const fromKey = (a: (typeof applied)[number]) => JSON.stringify(a.it.input.from);
  for (const g of groupBy(
    applied.filter((a) => !a.release),
    (a) => `${fromKey(a)}@${a.it.input.at}`,
  ))
    await claim(g, {
      status: "held",
      released_fen: 0,
      released_kg: 0,
      released_at: null,
      maturity_at: null,
      decided_at: g[0]!.it.input.at,
    });
  const releases = applied.filter((a) => a.release);
  for (const g of groupBy(releases, fromKey))
    await claim(g, {
      status: "released",
      released_fen: caseOf(
        "id",
        pairs(g, (a) => a.it.input.decision.amountFen),
      ),
      released_kg: caseOf(
        "id",
        pairs(g, (a) => a.it.input.decision.kg),
      ),
      released_at: caseOf(
        "id",
        pairs(g, (a) => a.it.input.at),
      ),
      maturity_at: caseOf(
        "id",
        pairs(g, (a) => a.maturity),
      ),
      decided_at: caseOf(
        "id",
        pairs(g, (a) => a.it.input.at),
      ),
    });
  await trx
    .insertInto("lending_decisions")
    .values(
      applied.map(({ it: { input: inp }, release }) => ({
        id: randomUUID(),
        tranche_id: inp.trancheId,
        outcome: inp.decision.outcome,
        amount_fen: release ? inp.decision.amountFen : 0,
        reasons: JSON.stringify(inp.decision.reasons),
        gates: JSON.stringify(inp.decision.gates),
        decided_by: inp.by,
        decided_at: inp.at,
      })),
    )
    .execute();
  await settleReservations(trx, applied, reservations, (a) => fOf(a).id);
  await moveCommitted(trx, facilities, committed);
  for (const a of releases) await accrue(trx, bOf(a).id, a.it.input.at);
  await postTxs(
    trx,
    releases.map((a) => releaseTx(a.it.input, tOf(a), bOf(a))),
  );
  for (const a of releases)
    await postReleaseFees(trx, fOf(a), bOf(a).id, tOf(a).id, a.it.input.decision.amountFen, a.it.input.at);
  if (releases.length)
    await trx
      .insertInto("lending_payment_orders")
      .values(releases.map((a) => paymentOrder(a.orderId!, a.it.input, tOf(a), bOf(a), fOf(a))))
      .execute();
  await raiseAlerts(
    trx,
    applied.flatMap((a) => a.it.alerts ?? []),
  );
  const commands = await raiseDemands(trx, applied, bOf);
  return { results, commands };
}

type Applied = { it: BatchItem; release: boolean; maturity: number; orderId?: string };
type Reservation = { tranche_id: string; status: string };

/** Phase two for the set: held reservations of holds voided, releases' posted (updated or inserted). */
async function settleReservations(
  trx: Kysely<DB>,
  applied: Applied[],
  reservations: Map<string, Reservation>,
  facilityOf: (a: Applied) => string,
) {
  const voids = applied.filter(
    (a) => !a.release && reservations.get(a.it.input.trancheId)?.status === "held",
  );
  for (const g of groupBy(voids, (a) => String(a.it.input.at))) {
    const r = await trx
      .updateTable("lending_reservations")
      .set({ status: "voided", settled_at: g[0]!.it.input.at })
      .where(
        "tranche_id",
        "in",
        g.map((a) => a.it.input.trancheId),
      )
      .where("status", "=", "held")
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== g.length) throw ERR_LENDING_STATE("a reservation of the set changed");
  }
  const posts = applied.filter((a) => a.release && reservations.has(a.it.input.trancheId));
  if (posts.length) {
    const p = (v: (a: Applied) => number) =>
      posts.map((a) => [a.it.input.trancheId, v(a)] as [string, number]);
    await trx
      .updateTable("lending_reservations")
      .set({
        status: "posted",
        amount_fen: caseOf(
          "tranche_id",
          p((a) => a.it.input.decision.amountFen),
        ),
        settled_at: caseOf(
          "tranche_id",
          p((a) => a.it.input.at),
        ),
      })
      .where(
        "tranche_id",
        "in",
        posts.map((a) => a.it.input.trancheId),
      )
      .execute();
  }
  const fresh = applied.filter((a) => a.release && !reservations.has(a.it.input.trancheId));
  if (fresh.length)
    await trx
      .insertInto("lending_reservations")
      .values(
        fresh.map((a) => ({
          id: `res-${a.it.input.trancheId}`,
          facility_id: facilityOf(a),
          tranche_id: a.it.input.trancheId,
          amount_fen: a.it.input.decision.amountFen,
          status: "posted",
          created_at: a.it.input.at,
          expires_at: a.it.input.at,
          settled_at: a.it.input.at,
        })),
      )
      .execute();
}

/**
 * Sets each facility's committed amount to what the set's moves added up to, in one conditional
 * UPDATE (from the amount read under the lock, still within [0, limit]: the CHECK is a second guard).
 */
export async function moveCommitted(
  trx: Kysely<DB>,
  facilities: Map<string, { id: string; committed_fen: number }>,
  committed: Map<string, number>,
) {
  const moved = [...committed].filter(([id, c]) => c !== Number(facilities.get(id)!.committed_fen));
  if (moved.length === 0) return;
  const delta = caseOf(
    "id",
    moved.map(([id, c]) => [id, c - Number(facilities.get(id)!.committed_fen)]),
  );
  const r = await trx
    .updateTable("lending_facilities")
    .set({ committed_fen: sql`committed_fen + ${delta}` })
    .where(
      "id",
      "in",
      moved.map(([id]) => id),
    )
    .where(sql<boolean>`committed_fen + ${delta} <= limit_fen and committed_fen + ${delta} >= 0`)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== moved.length)
    throw ERR_LENDING_LIMIT("a facility's committed amount changed under the set's lock");
}

/** Evidence demands of the applied holds and reductions, as raiseEvidenceDemand one by one. */
async function raiseDemands(
  trx: Kysely<DB>,
  applied: Applied[],
  batchOf: (a: Applied) => { id: string; evidence_level: number; devices: string },
): Promise<Command[]> {
  const level = new Map<string, { from: number; to: number }>();
  const rows = [];
  const commands: Command[] = [];
  for (const a of applied) {
    if (a.it.demand === undefined) continue;
    const b = batchOf(a);
    const l = level.get(b.id) ?? { from: Number(b.evidence_level), to: Number(b.evidence_level) };
    level.set(b.id, l);
    if (l.to >= CENSUS_INTERVALS.length - 1) continue;
    l.to++;
    const args = { every: CENSUS_INTERVALS[l.to]! };
    for (const device of JSON.parse(b.devices) as string[]) {
      rows.push({
        id: randomUUID(),
        batch_id: b.id,
        device,
        name: "census.interval",
        args: JSON.stringify(args),
        level: l.to,
        reason: a.it.demand,
        sent_at: a.it.input.at,
      });
      commands.push({ device, name: "census.interval", args, batchId: b.id });
    }
  }
  const raised = [...level].filter(([, l]) => l.to !== l.from);
  if (raised.length === 0) return commands;
  const r = await trx
    .updateTable("lending_batches")
    .set({
      evidence_level: caseOf(
        "id",
        raised.map(([id, l]) => [id, l.to]),
      ),
    })
    .where(
      "id",
      "in",
      raised.map(([id]) => id),
    )
    .where(
      "evidence_level",
      "=",
      caseOf(
        "id",
        raised.map(([id, l]) => [id, l.from]),
      ),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== raised.length)
    throw ERR_LENDING_STATE("a batch's evidence level changed under the set's lock");
  if (rows.length) await trx.insertInto("lending_demands").values(rows).execute();
  return commands;
}
