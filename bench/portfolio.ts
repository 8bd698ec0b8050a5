import type { KyselyPlugin } from "kysely";
import type { CloudContext } from "../cloud/context.ts";
import { portfolioView } from "../cloud/dashboard/portfolio.ts";
import { lendingTick } from "../cloud/lending/engine.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../cloud/lending/setup.ts";
import { generateKeyPair } from "../core/keys.ts";
import { silentLogger } from "../core/log.ts";
import { freshDb } from "../test/helpers/services.ts";

export interface BenchLine {
  bench: "portfolio";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const DAY = 86_400_000;
const T0 = Date.parse("2025-03-03T00:00:00Z");
const FACILITIES = Number(process.env.BENCH_PORTFOLIO_FACILITIES ?? 1000);

/**
 * The lender's reads and the engine at 1,000 facilities on PostgreSQL (a fresh schema): one
 * borrower, facility and open broiler batch each, placed a week ago with weekly tranches, so each
 * batch has two tranches due: a tick decides 2,000. Reports the portfolio API's query time (median
 * of 5), the tick that decides the 2,000 and the empty tick after it, with the SQL statements each
 * tick sent (round trips, counted by a Kysely plugin: what the set-based reads save).
 */
export async function benchPortfolio(): Promise<BenchLine[]> {
  const fresh = await freshDb("postgres");
  const clock = { now: T0 };
  // Counts the SQL statements the cloud sends (round trips): what a set-based read saves.
  let statements = 0;
  const counter: KyselyPlugin = {
    transformQuery: (a) => {
      statements++;
      return a.node;
    },
    transformResult: async (a) => a.result,
  };
  const ctx: CloudContext = {
    db: { ...fresh.db, kysely: fresh.db.kysely.withPlugin(counter) },
    log: silentLogger,
    key: generateKeyPair(),
    now: () => clock.now,
    sendCommand: async () => {},
  };
  try {
    const k = fresh.db.kysely;
    await createSupplier(
      k,
      { id: "feedco", name: "Feed Co", account: "6222020200112233", bic: "ICBKCNBJ" },
      T0,
    );
    for (let i = 0; i < FACILITIES; i++) {
      await createBorrower(k, { id: `b${i}`, name: `Farm ${i}`, kind: "cooperative" }, T0);
      await createFacility(
        k,
        {
          id: `f${i}`,
          borrowerId: `b${i}`,
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
        },
        T0,
      );
      await createBatch(
        k,
        {
          id: `batch${i}`,
          facilityId: `f${i}`,
          barn: `barn${i}`,
          species: "broiler",
          headPlaced: 20_000,
          placedAt: T0,
          trancheDays: 7,
          devices: [`gw${i}`],
          supplierId: "feedco",
          feedPriceFenPerKg: 260,
          livePriceFenPerKg: 900,
        },
        T0,
      );
    }
    clock.now = T0 + 7 * DAY + 60_000;
    const due = await k
      .selectFrom("lending_tranches")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("due_at", "<=", clock.now)
      .executeTakeFirstOrThrow();
    const time = async (f: () => Promise<unknown>, what = "") => {
      const t = performance.now();
      await f();
      const ms = performance.now() - t;
      if (what) process.stderr.write(`portfolio bench: ${what} ${Math.round(ms)} ms\n`);
      return ms;
    };
    process.stderr.write(`portfolio bench: ${FACILITIES} facilities set up, ${due.n} tranches due\n`);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const portfolio: number[] = [];
    for (let i = 0; i < 5; i++) portfolio.push(await time(() => portfolioView(ctx), "portfolio"));
    statements = 0;
    const tick = await time(() => lendingTick(ctx, clock.now), "tick");
    const tickStatements = statements;
    const decided = await k
      .selectFrom("lending_decisions")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    clock.now += 60_000;
    statements = 0;
    const empty = await time(() => lendingTick(ctx, clock.now), "empty tick");
    const emptyStatements = statements;
    const after: number[] = [];
    for (let i = 0; i < 5; i++) after.push(await time(() => portfolioView(ctx), "portfolio after"));
    const b: BenchLine = { bench: "portfolio", metric: "", value: 0, unit: "" };
    return [
      { ...b, metric: "facilities", value: FACILITIES, unit: "facilities" },
      { ...b, metric: "due tranches", value: Number(due.n), unit: "tranches" },
      { ...b, metric: "portfolio API query (median of 5)", value: median(portfolio), unit: "ms" },
      { ...b, metric: "portfolio after the tick (median of 5)", value: median(after), unit: "ms" },
      { ...b, metric: "engine tick deciding the due tranches", value: tick, unit: "ms" },
      { ...b, metric: "decisions made by that tick", value: Number(decided.n), unit: "decisions" },
      { ...b, metric: "SQL statements in that tick", value: tickStatements, unit: "statements" },
      { ...b, metric: "empty engine tick", value: empty, unit: "ms" },
      { ...b, metric: "SQL statements in the empty tick", value: emptyStatements, unit: "statements" },
    ];
  } finally {
    await fresh.drop();
  }
}
