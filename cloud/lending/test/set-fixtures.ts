import fc from "fast-check";
import { type Kysely, sql } from "kysely";
import type { Db } from "../../db/connect.ts";
import type { DB } from "../../db/schema.ts";
import type { AlertInput } from "../alerts.ts";
import { raiseAlert, raiseEvidenceDemand } from "../alerts.ts";
import type { BatchItem } from "../apply-batch.ts";
import { applyDecision } from "../apply-decision.ts";
import type { Outcome } from "../decision-types.ts";
import type { DueTranche } from "../reserve-batch.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../setup.ts";
import { DAY, T0, testCtx } from "./helpers.ts";

/**
 * Fixtures of the set-apply tests (batched-apply.test.ts, batched-race.test.ts): random
 * facilities with tight limits and fees, their due tranches, one decision per batch, the
 * one-by-one path applyAssessment takes, and the money state to compare (without random ids).
 */
export const NOW = T0 + 7 * DAY + 60_000;

export const facilityArb = fc.record({
  limitShare: fc.double({ min: 0.3, max: 1.6, noNaN: true }),
  fees: fc.constantFrom("none", "fixed", "percent", "both"),
  batches: fc.array(fc.record({ head: fc.integer({ min: 500, max: 20_000 }), devices: fc.nat(2) }), {
    minLength: 1,
    maxLength: 3,
  }),
});
export const decisionArb = fc.record({
  outcome: fc.constantFrom<Outcome>("release", "release", "reduced", "hold", "hold"),
  share: fc.double({ min: 0, max: 1.5, noNaN: true }),
  pick: fc.constantFrom("oldest", "oldest", "oldest", "held", "planned"),
});
export const runArb = fc.record({
  facilities: fc.array(facilityArb, { minLength: 1, maxLength: 3 }),
  decisions: fc.array(decisionArb, { minLength: 9, maxLength: 9 }),
});
export type Run = typeof runArb extends fc.Arbitrary<infer R> ? R : never;

/**
 * Runs every property test also tries first, so the coverage each asserts (releases, holds for the
 * limit, the set path) never depends on what the random runs happen to draw: one whose limit covers
 * every due tranche (money is released), one whose limit covers a third of them (holds for it).
 */
export const COVERING: Run[] = [1.6, 0.3].map((limitShare) => ({
  facilities: [
    {
      limitShare,
      fees: "both" as const,
      batches: [
        { head: 8_000, devices: 1 },
        { head: 3_000, devices: 2 },
      ],
    },
  ],
  decisions: Array.from({ length: 9 }, (_, i) => ({
    outcome: i % 3 === 2 ? ("hold" as const) : ("release" as const),
    share: 0.8,
    pick: "oldest" as const,
  })),
}));

export async function seed(db: Db, p: string, run: Run) {
  const k = db.kysely;
  await createSupplier(
    k,
    { id: `${p}sup`, name: "Feed Co", account: "6222020200112233", bic: "ICBKCNBJ" },
    T0,
  );
  for (const [i, f] of run.facilities.entries()) {
    await createBorrower(k, { id: `${p}co${i}`, name: "Co-op", kind: "cooperative" }, T0);
    const fees = [
      ...(f.fees === "fixed" || f.fees === "both"
        ? [{ name: "arrangement", kind: "fixed" as const, amount: 5_000 }]
        : []),
      ...(f.fees === "percent" || f.fees === "both"
        ? [{ name: "service", kind: "percent" as const, amount: 12_345 }]
        : []),
    ];
    await createFacility(
      k,
      {
        id: `${p}f${i}`,
        borrowerId: `${p}co${i}`,
        currency: "CNY",
        limitFen: 2_000_000_000,
        termStart: T0 - DAY,
        termMonths: 14,
        maxDrawdownDays: 60,
        annualRate: "10%",
        dayCount: "ACT/360",
        thresholds: {},
        waterfall: ["fees", "interest", "principal"],
        debtor: { name: "Rural Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
        servicing: { fees },
      },
      T0,
    );
    for (const [j, b] of f.batches.entries())
      await createBatch(
        k,
        {
          id: `${p}f${i}b${j}`,
          facilityId: `${p}f${i}`,
          barn: `${p}barn${i}-${j}`,
          species: "broiler",
          headPlaced: b.head,
          placedAt: T0,
          trancheDays: 7,
          devices: Array.from({ length: b.devices }, (_, d) => `${p}gw${i}-${j}-${d}`),
          supplierId: `${p}sup`,
          feedPriceFenPerKg: 260,
          livePriceFenPerKg: 900,
        },
        T0,
      );
    // A limit around what the facility's due tranches need: some fit, some run out.
    const due = await k
      .selectFrom("lending_tranches as t")
      .innerJoin("lending_batches as b", "b.id", "t.batch_id")
      .select((eb) => eb.fn.sum<number>("t.planned_fen").as("fen"))
      .where("b.facility_id", "=", `${p}f${i}`)
      .where("t.due_at", "<=", NOW)
      .executeTakeFirstOrThrow();
    await k
      .updateTable("lending_facilities")
      .set({ limit_fen: Math.floor(Number(due.fen) * f.limitShare) })
      .where("id", "=", `${p}f${i}`)
      .execute();
  }
}

/** The due tranches as the engine lists them (due order), the run's only. */
export const dueOf = (k: Kysely<DB>, p: string): Promise<DueTranche[]> =>
  k
    .selectFrom("lending_tranches as t")
    .innerJoin("lending_batches as b", "b.id", "t.batch_id")
    .innerJoin("lending_facilities as f", "f.id", "b.facility_id")
    .select(["t.id", "t.batch_id", "t.planned_fen", "b.facility_id", "f.thresholds"])
    .where("b.status", "=", "open")
    .where("t.due_at", "<=", NOW)
    .where("t.status", "=", "planned")
    .where("f.id", "like", `${p}%`)
    .orderBy("t.due_at")
    .orderBy("t.id")
    .execute();

/** One decision per batch: of its oldest reserved tranche, a held one, or one still planned. */
export async function itemsOf(k: Kysely<DB>, p: string, run: Run): Promise<BatchItem[]> {
  const tranches = await k
    .selectFrom("lending_tranches as t")
    .innerJoin("lending_batches as b", "b.id", "t.batch_id")
    .select(["t.id", "t.batch_id", "t.seq", "t.status", "t.planned_fen", "t.planned_kg", "b.facility_id"])
    .where("b.facility_id", "like", `${p}%`)
    .orderBy("t.batch_id")
    .orderBy("t.seq")
    .execute();
  const items: BatchItem[] = [];
  const batches = [...new Set(tranches.map((t) => t.batch_id))];
  for (const [i, batchId] of batches.entries()) {
    const d = run.decisions[i % run.decisions.length]!;
    const mine = tranches.filter((t) => t.batch_id === batchId);
    const t =
      d.pick === "held"
        ? (mine.find((x) => x.status === "held") ?? mine[0]!)
        : d.pick === "planned"
          ? (mine.find((x) => x.status === "planned") ?? mine[0]!)
          : (mine.find((x) => x.status === "reserved") ?? mine[0]!);
    const kg =
      d.outcome === "hold"
        ? 0
        : Math.floor(Number(t.planned_kg) * (d.outcome === "reduced" ? Math.min(d.share, 0.99) : d.share));
    const amountFen = kg * 260;
    const alerts: AlertInput[] = [
      // A key two decisions share: the first one applied keeps it, as raiseAlert one by one.
      {
        facilityId: t.facility_id,
        batchId,
        kind: "quality_test",
        severity: "warning",
        message: `from ${t.id}`,
        dedupe: `${p}shared`,
        at: NOW,
      },
    ];
    if (d.outcome !== "release")
      alerts.push({
        facilityId: t.facility_id,
        batchId,
        kind: "tranche_held",
        severity: "critical",
        message: `tranche ${t.seq}`,
        detail: { trancheId: t.id },
        dedupe: `tranche:${t.id}`,
        at: NOW,
      });
    items.push({
      input: {
        trancheId: t.id,
        decision: { outcome: d.outcome, amountFen, kg, reasons: [`r ${d.outcome}`], gates: [] },
        by: "engine",
        from: d.pick === "held" ? ["held"] : ["reserved"],
        at: NOW,
      },
      alerts,
      ...(d.outcome !== "release" ? { demand: `tranche ${t.seq} ${d.outcome}` } : {}),
    });
  }
  return items;
}

/**
 * Applies the items one at a time, as applyAssessment does (decision, then its alerts and demand),
 * in the limit's order: every decision that gives room back (a hold, a release within the tranche's
 * held reservation) before those that draw more, each group in the order given.
 */
export async function oneByOne(db: Db, items: BatchItem[], commands: unknown[]) {
  const ctx = { ...testCtx(db), commands };
  ctx.sendCommand = async (device, name, args) => {
    commands.push({ device, name, args });
  };
  const held = new Map(
    (
      await db.kysely
        .selectFrom("lending_reservations")
        .select(["tranche_id", "amount_fen"])
        .where("status", "=", "held")
        .execute()
    ).map((r) => [r.tranche_id, Number(r.amount_fen)]),
  );
  const draws = (it: BatchItem) =>
    it.input.decision.outcome !== "hold" && it.input.decision.amountFen > (held.get(it.input.trancheId) ?? 0);
  for (const it of [...items.filter((i) => !draws(i)), ...items.filter(draws)]) {
    const r = await applyDecision(db.kysely, it.input).catch((e: unknown) => e as Error);
    if (r instanceof Error || !r.applied) continue;
    for (const a of it.alerts ?? []) await raiseAlert(db.kysely, a);
    if (it.demand !== undefined) {
      const t = await db.kysely
        .selectFrom("lending_tranches")
        .select("batch_id")
        .where("id", "=", it.input.trancheId)
        .executeTakeFirstOrThrow();
      await raiseEvidenceDemand(ctx, t.batch_id, it.demand, it.input.at);
    }
  }
}

/** Everything the money path writes for the run's facilities, without the random ids. */
export async function moneyState(k: Kysely<DB>, p: string) {
  const like = `${p}%`;
  const batches = await k
    .selectFrom("lending_batches")
    .select(["id", "status", "evidence_level", "interest_num", "accrued_through", "interest_posted_fen"])
    .where("facility_id", "like", like)
    .orderBy("id")
    .execute();
  const bIds = batches.map((b) => b.id);
  const tranches = await k
    .selectFrom("lending_tranches")
    .selectAll()
    .where("batch_id", "in", bIds)
    .orderBy("id")
    .execute();
  const tIds = tranches.map((t) => t.id);
  return {
    facilities: await k
      .selectFrom("lending_facilities")
      .select(["id", "committed_fen", "limit_fen"])
      .where("id", "like", like)
      .orderBy("id")
      .execute(),
    batches,
    tranches,
    reservations: await k
      .selectFrom("lending_reservations")
      .selectAll()
      .where("tranche_id", "in", tIds)
      .orderBy("id")
      .execute(),
    decisions: await k
      .selectFrom("lending_decisions")
      .select(["tranche_id", "outcome", "amount_fen", "reasons", "gates", "decided_by", "decided_at"])
      .where("tranche_id", "in", tIds)
      .orderBy("tranche_id")
      .orderBy("decided_at")
      .orderBy("reasons")
      .execute(),
    ledger: await k
      .selectFrom("lending_ledger_tx")
      .select(["facility_id", "batch_id", "kind", "ref", "memo", "corrects", "posted_at"])
      .where("facility_id", "like", like)
      .orderBy("ref")
      .execute(),
    entries: await k
      .selectFrom("lending_ledger_entries as e")
      .innerJoin("lending_ledger_tx as t", "t.id", "e.tx_id")
      .select(["t.ref", "e.line", "e.account", "e.amount_fen"])
      .where("t.facility_id", "like", like)
      .orderBy("t.ref")
      .orderBy("e.line")
      .execute(),
    orders: await k
      .selectFrom("lending_payment_orders")
      .select([
        "tranche_id",
        "facility_id",
        "supplier_id",
        "amount_fen",
        "currency",
        "end_to_end_id",
        "status",
        "attempts",
        "created_at",
      ])
      .where("facility_id", "like", like)
      .orderBy("tranche_id")
      .execute(),
    alerts: await k
      .selectFrom("lending_alerts")
      .select(["facility_id", "batch_id", "kind", "severity", "message", "detail", "dedupe", "created_at"])
      .where("dedupe", "like", `%${p}%`)
      .orderBy("dedupe")
      .execute(),
    demands: await k
      .selectFrom("lending_demands")
      .select(["batch_id", "device", "name", "args", "level", "reason", "sent_at"])
      .where("batch_id", "in", bIds)
      .orderBy("batch_id")
      .orderBy("level")
      .orderBy("device")
      .execute(),
    audit: (
      await k
        .selectFrom("lending_audit")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  };
}

/** Makes every insert of `table` for `trancheId` fail (a constraint the set cannot know of). */
export async function injectFailure(db: Db, dialect: string, table: string, trancheId: string) {
  if (dialect === "postgres") {
    await sql`create function inject_failure() returns trigger language plpgsql as $$
      begin if new.tranche_id = ${sql.lit(trancheId)} then raise exception 'injected failure'; end if; return new; end $$`.execute(
      db.kysely,
    );
    await sql`create trigger inject_failure before insert on ${sql.table(table)}
      for each row execute function inject_failure()`.execute(db.kysely);
    return;
  }
  await sql`create trigger inject_failure before insert on ${sql.table(table)}
    when new.tranche_id = ${sql.lit(trancheId)} begin select raise(abort, 'injected failure'); end`.execute(
    db.kysely,
  );
}
