import fc from "fast-check";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { postInterest } from "../accrual.ts";
import { applyDecision } from "../apply-decision.ts";
import { ERR_LENDING_LIMIT, ERR_LENDING_UNBALANCED } from "../errors.ts";
import { balances, checkBalanced, correctTx, postTx } from "../ledger.ts";
import { reserve } from "../limit.ts";
import { repayBatch } from "../repay.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, DIALECTS, dialectsHere, seedBatch, T0 } from "./helpers.ts";

type Op =
  | { op: "reserve"; t: number; fen: number }
  | { op: "release"; t: number; fen: number }
  | { op: "hold"; t: number }
  | { op: "repay"; fen: number }
  | { op: "interest" }
  | { op: "fee"; fen: number }
  | { op: "correct"; nth: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("reserve" as const), t: fc.nat(5), fen: fc.integer({ min: 1, max: 600_000 }) }),
  fc.record({ op: fc.constant("release" as const), t: fc.nat(5), fen: fc.integer({ min: 1, max: 600_000 }) }),
  fc.record({ op: fc.constant("hold" as const), t: fc.nat(5) }),
  fc.record({ op: fc.constant("repay" as const), fen: fc.integer({ min: 1, max: 900_000 }) }),
  fc.record({ op: fc.constant("interest" as const) }),
  fc.record({ op: fc.constant("fee" as const), fen: fc.integer({ min: 1, max: 5_000 }) }),
  fc.record({ op: fc.constant("correct" as const), nth: fc.nat(20) }),
);

/** Invariants that must hold after any sequence of operations. */
async function checkInvariants(db: Awaited<ReturnType<typeof freshDb>>["db"]) {
  const k = db.kysely;
  const sums = await k
    .selectFrom("lending_ledger_entries")
    .select(["tx_id", (eb) => eb.fn.sum<string>("amount_fen").as("s")])
    .groupBy("tx_id")
    .execute();
  for (const s of sums) expect(Number(s.s)).toBe(0);
  const f = await k
    .selectFrom("lending_facilities")
    .selectAll()
    .where("id", "=", "fac1")
    .executeTakeFirstOrThrow();
  const held = await k
    .selectFrom("lending_reservations")
    .select("amount_fen")
    .where("status", "=", "held")
    .execute();
  const bal = await balances(k, "fac1");
  expect(Number(f.committed_fen)).toBe(
    held.reduce((s, r) => s + Number(r.amount_fen), 0) + bal.loan_principal,
  );
  expect(Number(f.committed_fen)).toBeLessThanOrEqual(Number(f.limit_fen));
  expect(bal.loan_principal).toBeGreaterThanOrEqual(0);
  const orders = await k.selectFrom("lending_payment_orders").select("tranche_id").execute();
  expect(new Set(orders.map((o) => o.tranche_id)).size).toBe(orders.length);
  const released = await k
    .selectFrom("lending_tranches")
    .select(["id", "released_fen"])
    .where("status", "=", "released")
    .execute();
  expect(orders.length).toBe(released.length);
}

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`ledger invariants on ${dialect}`, () => {
    // A fresh migrated database per sequence: minutes on a busy machine, so no speed-bound timeout.
    it("hold under random operation sequences", { timeout: 900_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
          const { db, drop } = await freshDb(dialect);
          try {
            await seedBatch(db, { limitFen: 2_000_000 });
            const k = db.kysely;
            const tranches = await k.selectFrom("lending_tranches").select("id").orderBy("seq").execute();
            let day = 0;
            for (const o of ops) {
              day += 1;
              const at = T0 + day * DAY;
              const tid = "t" in o ? tranches[o.t]!.id : "";
              try {
                if (o.op === "reserve") {
                  await k.transaction().execute(async (trx) => {
                    const r = await trx
                      .updateTable("lending_tranches")
                      .set({ status: "reserved", planned_fen: o.fen })
                      .where("id", "=", tid)
                      .where("status", "=", "planned")
                      .executeTakeFirst();
                    if (Number(r.numUpdatedRows) === 1) await reserve(trx, "fac1", tid, o.fen, at, DAY);
                  });
                } else if (o.op === "release" || o.op === "hold") {
                  const d =
                    o.op === "release"
                      ? { outcome: "release" as const, amountFen: o.fen, kg: 1, reasons: [], gates: [] }
                      : { outcome: "hold" as const, amountFen: 0, kg: 0, reasons: [], gates: [] };
                  await applyDecision(k, {
                    trancheId: tid,
                    decision: d,
                    by: "prop",
                    from: ["planned", "reserved", "held"],
                    at,
                  });
                } else if (o.op === "repay") {
                  await repayBatch(k, "b1", o.fen, `r${day}`, at);
                } else if (o.op === "interest") {
                  await k.transaction().execute((trx) => postInterest(trx, "b1", at));
                } else if (o.op === "fee") {
                  await postTx(k, {
                    facilityId: "fac1",
                    batchId: "b1",
                    kind: "fee",
                    ref: `fee:${day}`,
                    memo: "fee",
                    lines: [
                      { account: "fee_receivable", amountFen: o.fen },
                      { account: "fee_income", amountFen: -o.fen },
                    ],
                    at,
                  });
                } else {
                  const fees = await k
                    .selectFrom("lending_ledger_tx")
                    .select("id")
                    .where("kind", "=", "fee")
                    .where("corrects", "is", null)
                    .orderBy("id")
                    .execute();
                  if (fees.length) await correctTx(k, fees[o.nth % fees.length]!.id, "mistake", at);
                }
              } catch (e) {
                // Refusals are fine (limit, state, a correction done twice); a broken invariant is not.
                if (ERR_LENDING_UNBALANCED.is(e)) throw e;
                if (
                  !(
                    ERR_LENDING_LIMIT.is(e) ||
                    (e as { code?: string }).code?.startsWith("BL_") ||
                    /unique|UNIQUE|duplicate/.test(String(e))
                  )
                )
                  throw e;
              }
            }
            await checkInvariants(db);
          } finally {
            await drop();
          }
        }),
        { numRuns: dialect === "sqlite" ? 30 : 10 },
      );
    });

    it("refuses unbalanced transactions and any update or delete of the ledger", async () => {
      const { db, drop } = await freshDb(dialect);
      try {
        await seedBatch(db);
        expect(() =>
          checkBalanced([
            { account: "cash", amountFen: 5 },
            { account: "fee_income", amountFen: -4 },
          ]),
        ).toThrow(/sum to 1/);
        expect(() =>
          checkBalanced([
            { account: "cash", amountFen: 0.5 },
            { account: "fee_income", amountFen: -0.5 },
          ]),
        ).toThrowError(expect.objectContaining({ code: ERR_LENDING_UNBALANCED.spec.code }));
        const id = await postTx(db.kysely, {
          facilityId: "fac1",
          kind: "fee",
          ref: "f1",
          memo: "m",
          lines: [
            { account: "fee_receivable", amountFen: 10 },
            { account: "fee_income", amountFen: -10 },
          ],
          at: T0,
        });
        await expect(
          sql`update lending_ledger_entries set amount_fen = 11 where tx_id = ${id}`.execute(db.kysely),
        ).rejects.toThrow(/append-only/);
        await expect(sql`delete from lending_ledger_tx where id = ${id}`.execute(db.kysely)).rejects.toThrow(
          /append-only/,
        );
        await correctTx(db.kysely, id, "wrong fee", T0);
        await expect(correctTx(db.kysely, id, "again", T0)).rejects.toThrow();
        expect((await balances(db.kysely, "fac1")).fee_receivable).toBe(0);
      } finally {
        await drop();
      }
    });
  });
