import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../db/connect.ts";
import { applyDecision } from "../apply-decision.ts";
import { checkCollateral, collateralOf } from "../collateral.ts";
import { balances } from "../ledger.ts";
import { payoffQuote } from "../payoff.ts";
import { repayBatch } from "../repay.ts";
import { servicingTick } from "../servicing.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../setup.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, DIALECTS, dialectsHere, T0, testCtx } from "./helpers.ts";

const H = 3_600_000;
const release = (db: Db, trancheId: string, amountFen: number, at: number) =>
  applyDecision(db.kysely, {
    trancheId,
    decision: { outcome: "release", amountFen, kg: 1, reasons: ["test"], gates: [] },
    by: "test",
    from: ["planned"],
    at,
  });

let n = 0;
async function seed(db: Db, o: { placedAt?: number; servicing?: Record<string, unknown> } = {}) {
  const i = ++n;
  const k = db.kysely;
  await createBorrower(k, { id: `c${i}`, name: "Co-op", kind: "cooperative" }, T0);
  await createSupplier(k, { id: `s${i}`, name: "Feed", account: "6222020200112233", bic: "ICBKCNBJ" }, T0);
  await createFacility(
    k,
    {
      id: `f${i}`,
      borrowerId: `c${i}`,
      currency: "CNY",
      limitFen: 2_000_000_000,
      termStart: T0 - DAY,
      termMonths: 14,
      maxDrawdownDays: 60,
      annualRate: "10%",
      dayCount: "ACT/360",
      thresholds: {},
      waterfall: ["fees", "interest", "principal"],
      debtor: { name: "Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
      servicing: o.servicing as never,
    },
    T0,
  );
  await createBatch(
    k,
    {
      id: `b${i}`,
      facilityId: `f${i}`,
      barn: `barn${i}`,
      species: "broiler",
      headPlaced: 1000,
      placedAt: o.placedAt ?? T0,
      trancheDays: 7,
      devices: [`gw${i}`],
      supplierId: `s${i}`,
      feedPriceFenPerKg: 260,
      livePriceFenPerKg: 900,
    },
    T0,
  );
  return { f: `f${i}`, b: `b${i}`, t0: `b${i}-t0` };
}

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`servicing defects on ${dialect}`, () => {
    let db: Db;
    let drop = async () => {};
    beforeAll(async () => {
      const f = await freshDb(dialect);
      db = f.db;
      drop = f.drop;
    });
    afterAll(() => drop());

    it("interest counts Beijing calendar days: ¥1M out from 09:00 to 07:00 next morning owes one day", async () => {
      const x = await seed(db);
      await release(db, x.t0, 100_000_000, T0 + 1 * H); // 09:00 Beijing
      const r = await repayBatch(db.kysely, x.b, 200_000_000, "next-morning", T0 + 23 * H); // 07:00 Beijing next day
      // 100,000,000 × 10% / 360 = 27,777.78 fen for the one night (old code: 0, same UTC date).
      expect(r.interest).toBe(27_778);
      expect(r.principal).toBe(100_000_000);
    });

    it("money released before placement accrues from its release day, not from placement", async () => {
      const x = await seed(db, { placedAt: T0 + 5 * DAY });
      await release(db, x.t0, 36_000_000, T0 + 2 * H);
      const r = await repayBatch(db.kysely, x.b, 100_000_000, "ten-days", T0 + 10 * DAY + 2 * H);
      // 36,000,000 × 10% / 360 × 10 days = 100,000 fen (old code counted 5 days from placement).
      expect(r.interest).toBe(100_000);
    });

    it("the payoff quote includes interest to today, so paying it closes the loan", async () => {
      const x = await seed(db);
      await release(db, x.t0, 10_000_000, T0 + 2 * H);
      const at = T0 + 9 * DAY + 5 * H;
      const q = await payoffQuote(db.kysely, x.b, at);
      expect(q.interestFen).toBe(25_000); // 10,000,000 × 10% / 360 × 9
      expect(q.totalFen).toBe(10_025_000);
      const r = await repayBatch(db.kysely, x.b, q.totalFen, "payoff", at, { payoff: true });
      expect(r.closed).toBe(true);
      expect(r.excess).toBe(0);
      const bal = await balances(db.kysely, x.f, x.b);
      expect(bal.loan_principal + bal.interest_receivable + bal.fee_receivable).toBe(0);
      // A quote as of an earlier date is that date's position.
      expect((await payoffQuote(db.kysely, x.b, T0 + 4 * DAY + 5 * H)).totalFen).toBe(10_000_000 + 11_111);
    });

    it("at maturity the drawdown goes overdue: alert, penalty after grace, classification", async () => {
      const x = await seed(db, { servicing: { penaltyRatePpm: 50_000, graceDays: 3 } });
      await release(db, x.t0, 72_000_000, T0 + 2 * H);
      // Due at release + 60 days; within grace nothing is overdue.
      expect((await payoffQuote(db.kysely, x.b, T0 + 62 * DAY)).daysPastDue).toBe(0);
      const at = T0 + 73 * DAY + 2 * H; // 10 days after due + grace
      const rows = await servicingTick(db.kysely, at);
      const mine = rows.find((r) => r?.batchId === x.b)!;
      expect(mine.overdueFen).toBe(72_000_000);
      expect(mine.daysPastDue).toBe(10);
      expect(mine.category).toBe("special_mention");
      // Penalty: 72,000,000 × 5% / 360 × 10 days = 100,000 fen.
      expect(mine.penaltyFen).toBe(100_000);
      const alerts = await db.kysely
        .selectFrom("lending_alerts")
        .selectAll()
        .where("batch_id", "=", x.b)
        .where("kind", "=", "overdue")
        .execute();
      expect(alerts).toHaveLength(1);
      // The provision follows the category: 2% of 72,000,000.
      expect(mine.provisionFen).toBe(1_440_000);
      const bal = await balances(db.kysely, x.f, x.b);
      expect(bal.loan_loss_allowance).toBe(-1_440_000);
      expect(bal.penalty_receivable).toBe(100_000);
      // Running it again the same day books nothing twice.
      const again = (await servicingTick(db.kysely, at + H)).find((r) => r?.batchId === x.b)!;
      expect(again.penaltyFen).toBe(0);
      expect((await balances(db.kysely, x.f, x.b)).penalty_receivable).toBe(100_000);
    });

    it("month-end accrual posts each month's interest; fees by schedule", async () => {
      const x = await seed(db, {
        servicing: {
          fees: [
            { name: "arrangement", kind: "fixed", amount: 50_000 },
            { name: "handling", kind: "percent", amount: 5_000 },
            { name: "monitoring", kind: "periodic", amount: 1_000, everyDays: 30 },
          ],
        },
      });
      await release(db, x.t0, 10_000_000, T0 + 2 * H); // 2025-03-03
      await servicingTick(db.kysely, Date.parse("2025-04-02T04:00:00Z"));
      const txs = await db.kysely
        .selectFrom("lending_ledger_tx")
        .selectAll()
        .where("batch_id", "=", x.b)
        .execute();
      const interest = txs.filter((t) => t.kind === "interest");
      // Month-end: interest to 1 April (Beijing) = 29 days × 2,777.78 = 80,556 fen.
      expect(interest).toHaveLength(1);
      const bal = await balances(db.kysely, x.f, x.b);
      expect(bal.interest_receivable).toBe(80_556);
      // Fixed 500 yuan + 0.5% of the release (50,000) + monitoring for periods 1 and 2 (day 0 and day 30).
      expect(bal.fee_receivable).toBe(50_000 + 50_000 + 2_000);
    });

    it("collateral is revalued from the facility's price series as known at the time; a fall raises the LTV alert", async () => {
      const x = await seed(db, { servicing: { priceSeries: `hog-${n + 1}` } });
      const series = `hog-${n}`;
      await release(db, x.t0, 1_500_000, T0 + 2 * H);
      const ctx = testCtx(db, { now: T0 + 3 * DAY });
      const before = await collateralOf(ctx, x.b, T0 + 3 * DAY);
      expect(before.priceSource).toBe("batch live price");
      await db.kysely
        .insertInto("lending_prices")
        .values([
          { series, at: T0 + DAY, fen_per_kg: 900, source: "test index" },
          { series, at: T0 + 4 * DAY, fen_per_kg: 90, source: "test index" },
        ])
        .execute();
      const day3 = await collateralOf(ctx, x.b, T0 + 3 * DAY);
      expect(day3.livePriceFenPerKg).toBe(900);
      const day5 = await checkCollateral(ctx, x.b, T0 + 5 * DAY);
      expect(day5.livePriceFenPerKg).toBe(90);
      expect(day5.herdValueFen).toBeLessThan(day3.herdValueFen / 5);
      expect(day5.ltv).toBeGreaterThan(1);
      const alerts = await db.kysely
        .selectFrom("lending_alerts")
        .selectAll()
        .where("batch_id", "=", x.b)
        .where("kind", "=", "ltv")
        .execute();
      expect(alerts).toHaveLength(1);
    });

    it("write-off uses the allowance first, frees the limit; a recovery is income", async () => {
      const x = await seed(db);
      await release(db, x.t0, 5_000_000, T0 + 2 * H);
      const { writeOffBatch, recoverBatch } = await import("../write-off.ts");
      await servicingTick(db.kysely, T0 + DAY); // normal: 1% allowance = 50,000
      const w = await writeOffBatch(
        db.kysely,
        x.b,
        "herd lost to disease, borrower insolvent",
        "olga",
        T0 + 3 * DAY,
      );
      expect(w.principalFen).toBe(5_000_000);
      expect(w.fromAllowanceFen).toBe(50_000);
      const bal = await balances(db.kysely, x.f, x.b);
      expect(bal.loan_principal).toBe(0);
      expect(bal.loan_loss_allowance).toBe(0);
      const f = await db.kysely
        .selectFrom("lending_facilities")
        .select("committed_fen")
        .where("id", "=", x.f)
        .executeTakeFirstOrThrow();
      expect(Number(f.committed_fen)).toBe(0);
      await recoverBatch(db.kysely, x.b, 1_000_000, "auction-1", T0 + 30 * DAY);
      expect((await balances(db.kysely, x.f, x.b)).recovery_income).toBe(-1_000_000);
      expect((await payoffQuote(db.kysely, x.b, T0 + 31 * DAY)).classification).toBe("loss");
    });
  });
