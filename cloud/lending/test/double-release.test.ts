import { describe, expect, it } from "vitest";
import { PG_URL, postgresAvailable } from "../../../test/helpers/services.ts";
import { openDb } from "../../db/connect.ts";
import { applyDecision } from "../apply-decision.ts";
import { startLendingEngine } from "../engine.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, seedBatch, T0, testCtx } from "./helpers.ts";

/**
 * The worst bug is a tranche paid twice. Two engines (separate pools, as two cloud instances) race
 * on the same PostgreSQL; every tranche must end with exactly one decision, one ledger release and
 * at most one payment order, and the limit's committed amount must equal what was released.
 */
const pgUp = await postgresAvailable();

describe("no double release with two instances", () => {
  it.runIf(pgUp)("two engines on one PostgreSQL", async () => {
    const a = await freshDb("postgres");
    const other = openDb(PG_URL, { schema: a.schema });
    try {
      await seedBatch(a.db, { head: 20_000 });
      // Make every tranche due now; evidence is absent so gates hold them, except we force releases below.
      const clock = { now: T0 + 40 * DAY };
      const e1 = startLendingEngine(testCtx(a.db, clock));
      const e2 = startLendingEngine(testCtx(other, clock));
      await Promise.all([
        e1.tick(clock.now),
        e2.tick(clock.now),
        e1.tick(clock.now + 1),
        e2.tick(clock.now + 1),
      ]);
      const k = a.db.kysely;
      const tranches = await k.selectFrom("lending_tranches").selectAll().execute();
      for (const t of tranches) {
        const ds = await k
          .selectFrom("lending_decisions")
          .selectAll()
          .where("tranche_id", "=", t.id)
          .execute();
        expect(ds).toHaveLength(1);
      }
      // Now race releases directly: 20 concurrent attempts per tranche across both pools.
      for (const t of tranches) {
        const d = { outcome: "release" as const, amountFen: 1000, kg: 4, reasons: ["race"], gates: [] };
        const rs = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            applyDecision((i % 2 ? other : a.db).kysely, {
              trancheId: t.id,
              decision: d,
              by: `racer${i}`,
              from: ["held"],
              at: clock.now,
            }).catch(() => ({ applied: false })),
          ),
        );
        expect(rs.filter((r) => r.applied)).toHaveLength(1);
      }
      const orders = await k.selectFrom("lending_payment_orders").select(["tranche_id"]).execute();
      expect(orders).toHaveLength(tranches.length);
      expect(new Set(orders.map((o) => o.tranche_id)).size).toBe(tranches.length);
      const releases = await k
        .selectFrom("lending_ledger_tx")
        .select("ref")
        .where("kind", "=", "release")
        .execute();
      expect(releases).toHaveLength(tranches.length);
      const f = await k
        .selectFrom("lending_facilities")
        .select("committed_fen")
        .where("id", "=", "fac1")
        .executeTakeFirstOrThrow();
      expect(Number(f.committed_fen)).toBe(1000 * tranches.length);
    } finally {
      await other.close();
      await a.drop();
    }
  });

  it.runIf(pgUp)("concurrent reservations never overdraw the limit (PostgreSQL)", async () => {
    const a = await freshDb("postgres");
    const other = openDb(PG_URL, { schema: a.schema });
    try {
      // A limit that covers the first two tranches only.
      const plan = await seedBatch(a.db, { head: 20_000, limitFen: 0 + 3_100_000 });
      const k = a.db.kysely;
      const clock = { now: T0 + 40 * DAY };
      await Promise.all([
        startLendingEngine(testCtx(a.db, clock)).tick(clock.now),
        startLendingEngine(testCtx(other, clock)).tick(clock.now),
      ]);
      const f = await k
        .selectFrom("lending_facilities")
        .selectAll()
        .where("id", "=", "fac1")
        .executeTakeFirstOrThrow();
      expect(Number(f.committed_fen)).toBeLessThanOrEqual(Number(f.limit_fen));
      const held = await k.selectFrom("lending_decisions").select("reasons").execute();
      expect(held.length).toBe(plan.tranches.length);
      expect(held.some((h) => h.reasons.includes("facility limit"))).toBe(true);
    } finally {
      await other.close();
      await a.drop();
    }
  });

  it("also holds on SQLite (one connection, serialised)", async () => {
    const a = await freshDb("sqlite");
    try {
      await seedBatch(a.db);
      const t = await a.db.kysely
        .selectFrom("lending_tranches")
        .select("id")
        .where("seq", "=", 0)
        .executeTakeFirstOrThrow();
      await a.db.kysely
        .updateTable("lending_tranches")
        .set({ status: "held" })
        .where("id", "=", t.id)
        .execute();
      const d = { outcome: "release" as const, amountFen: 500, kg: 2, reasons: ["race"], gates: [] };
      const rs = await Promise.all(
        Array.from({ length: 10 }, () =>
          applyDecision(a.db.kysely, { trancheId: t.id, decision: d, by: "x", from: ["held"], at: T0 }).catch(
            () => ({ applied: false }),
          ),
        ),
      );
      expect(rs.filter((r) => r.applied)).toHaveLength(1);
      expect(await a.db.kysely.selectFrom("lending_payment_orders").selectAll().execute()).toHaveLength(1);
    } finally {
      await a.drop();
    }
  });
});
