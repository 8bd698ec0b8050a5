import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BarnlinkError } from "../../../core/errors.ts";
import { PG_URL, postgresAvailable } from "../../../test/helpers/services.ts";
import { type Db, openDb } from "../../db/connect.ts";
import { applyDecision } from "../apply-decision.ts";
import { approveOverride, closeOverride, requestOverride } from "../override.ts";
import { repayBatch } from "../repay.ts";
import { createBatch, createBorrower, createFacility, createSupplier } from "../setup.ts";
import { writeOffBatch } from "../write-off.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, T0 } from "./helpers.ts";
import { independentCheck } from "./independent-check.ts";

/**
 * Issue #11, build item 1: random money operations fired concurrently from two engines (two
 * connection pools on PostgreSQL; two connections to one file on SQLite, as two cloud instances),
 * in rounds a random number of days apart; after each sequence an independent recomputation from
 * the stored rows (independent-check.ts: raw SQL, its own arithmetic) must find every invariant
 * true. Runs: BARNLINK_PROPERTY_RUNS (default 40 on PostgreSQL, 20 on SQLite); the issue's
 * acceptance run is BARNLINK_PROPERTY_RUNS=1000 (docs/lending.md gives the figure measured).
 */
type Op =
  | { op: "release"; t: number; share: number }
  | { op: "hold"; t: number }
  | { op: "repay"; fen: number; full: boolean }
  | { op: "override"; t: number; share: number; approvers: number }
  | { op: "reject"; t: number }
  | { op: "writeoff" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("release" as const),
      t: fc.nat(5),
      share: fc.double({ min: 0.1, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("hold" as const), t: fc.nat(5) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("repay" as const),
      fen: fc.integer({ min: 1, max: 3_000_000 }),
      full: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("override" as const),
      t: fc.nat(5),
      share: fc.double({ min: 0.5, max: 3, noNaN: true }),
      approvers: fc.integer({ min: 1, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reject" as const), t: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ op: "writeoff" as const }) },
);
const seqArb = fc.record({
  limitFen: fc.integer({ min: 500_000, max: 6_000_000 }),
  rounds: fc.array(
    fc.record({
      gapDays: fc.integer({ min: 0, max: 9 }),
      hour: fc.nat(23),
      ops: fc.array(opArb, { minLength: 1, maxLength: 5 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

let n = 0;
async function seed(db: Db, limitFen: number) {
  const i = ++n;
  const k = db.kysely;
  await createBorrower(k, { id: `co${i}`, name: "Co-op", kind: "cooperative" }, T0);
  await createSupplier(
    k,
    { id: `sup${i}`, name: "Feed Co", account: "6222020200112233", bic: "ICBKCNBJ" },
    T0,
  );
  await createFacility(
    k,
    {
      id: `fac${i}`,
      borrowerId: `co${i}`,
      currency: "CNY",
      limitFen,
      termStart: T0 - DAY,
      termMonths: 14,
      maxDrawdownDays: 60,
      annualRate: "7.3%",
      dayCount: "ACT/360",
      thresholds: {},
      waterfall: ["fees", "interest", "principal"],
      debtor: { name: "Rural Bank", account: "6228480010000001", bic: "ABOCCNBJ" },
    },
    T0,
  );
  const b = await createBatch(
    k,
    {
      id: `b${i}`,
      facilityId: `fac${i}`,
      barn: `barn${i}`,
      species: "broiler",
      headPlaced: 1_000,
      placedAt: T0,
      trancheDays: 7,
      devices: [`gw${i}`],
      supplierId: `sup${i}`,
      feedPriceFenPerKg: 260,
      livePriceFenPerKg: 900,
    },
    T0,
  );
  return {
    facilityId: `fac${i}`,
    batchId: `b${i}`,
    tranches: b.tranches.map((t) => ({ id: `b${i}-t${t.seq}`, fen: t.fen })),
  };
}

/** Only client-caused refusals (4xx BarnlinkErrors) are expected; anything else fails the sequence. */
const expected = (e: unknown) => {
  if (e instanceof BarnlinkError && e.statusCode < 500) return null;
  throw e;
};

async function run(
  dbs: [Db, Db],
  s: { limitFen: number; rounds: Array<{ gapDays: number; hour: number; ops: Op[] }> },
) {
  const x = await seed(dbs[0], s.limitFen);
  let at = T0;
  let ref = 0;
  for (const round of s.rounds) {
    at += round.gapDays * DAY + round.hour * 3_600_000;
    const now = at;
    await Promise.all(
      round.ops.map((o, j) => {
        const k = dbs[(j + ref) % 2]!.kysely;
        const t = x.tranches[("t" in o ? o.t : 0) % x.tranches.length]!;
        const r = ++ref;
        switch (o.op) {
          case "release":
            return applyDecision(k, {
              trancheId: t.id,
              decision: {
                outcome: "release",
                amountFen: Math.max(1, Math.round(t.fen * o.share)),
                kg: 1,
                reasons: ["p"],
                gates: [],
              },
              by: "engine",
              from: ["planned", "reserved"],
              at: now,
            }).catch(expected);
          case "hold":
            return applyDecision(k, {
              trancheId: t.id,
              decision: { outcome: "hold", amountFen: 0, kg: 0, reasons: ["p"], gates: [] },
              by: "engine",
              from: ["planned", "reserved"],
              at: now,
            }).catch(expected);
          case "repay":
            // "full" repays a big amount: several at once must not apply principal more than once.
            return repayBatch(k, x.batchId, o.full ? 50_000_000 : o.fen, `r${r}`, now).catch(expected);
          case "override":
            return (async () => {
              const ov = await requestOverride(k, {
                trancheId: t.id,
                action: "release",
                amountFen: Math.max(1, Math.round(t.fen * o.share)),
                reason: "property test override",
                maker: "m",
                at: now,
              });
              const other = dbs[(j + ref + 1) % 2]!.kysely;
              await Promise.all(
                [
                  approveOverride(k, ov.id, "c1", now),
                  approveOverride(other, ov.id, o.approvers === 2 ? "c2" : "c1", now),
                ].map((p) => p.catch(expected)),
              );
            })().catch(expected);
          case "reject":
            return (async () => {
              const ov = await requestOverride(k, {
                trancheId: t.id,
                action: "release",
                reason: "property test override",
                maker: "m",
                at: now,
              });
              await Promise.all(
                [
                  closeOverride(k, ov.id, "rejected", "c1", "not this one, no evidence", now),
                  approveOverride(dbs[(j + 1) % 2]!.kysely, ov.id, "c2", now),
                ].map((p) => p.catch(expected)),
              );
            })().catch(expected);
          default:
            return writeOffBatch(k, x.batchId, "property test write-off", "officer", now).catch(expected);
        }
      }),
    );
  }
  const { problems } = await independentCheck(dbs[0], x.facilityId);
  return problems;
}

const pgUp = await postgresAvailable();
const RUNS = Number(process.env.BARNLINK_PROPERTY_RUNS ?? 0);

describe("concurrent money operations from two instances", () => {
  it.runIf(pgUp)(
    "PostgreSQL: every invariant holds after random concurrent sequences",
    {
      timeout: 3_600_000,
    },
    async () => {
      const a = await freshDb("postgres");
      const b = openDb(PG_URL, { schema: a.schema });
      try {
        await fc.assert(
          fc.asyncProperty(seqArb, async (s) => {
            expect(await run([a.db, b], s)).toEqual([]);
          }),
          { numRuns: RUNS || 40, endOnFailure: true },
        );
      } finally {
        await b.close();
        await a.drop();
      }
    },
  );

  it("SQLite: two connections to one file", { timeout: 3_600_000 }, async () => {
    const a = await freshDb("sqlite");
    const b = openDb(a.url);
    try {
      await fc.assert(
        fc.asyncProperty(seqArb, async (s) => {
          expect(await run([a.db, b], s)).toEqual([]);
        }),
        { numRuns: RUNS ? Math.ceil(RUNS / 5) : 20, endOnFailure: true },
      );
    } finally {
      await b.close();
      await a.drop();
    }
  });
});
