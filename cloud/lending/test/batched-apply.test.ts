import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDecisionsIn } from "../apply-batch.ts";
import { lendingTick, reserveDue } from "../engine.ts";
import { type Assessment, applyAssessments } from "../evaluate.ts";
import { moneyTx } from "../money-tx.ts";
import { reserveDueIn } from "../reserve-batch.ts";
import { freshDb } from "./fresh-db.ts";
import { DIALECTS, dialectsHere, testCtx } from "./helpers.ts";
import {
  COVERING,
  dueOf,
  injectFailure,
  itemsOf,
  moneyState,
  NOW,
  oneByOne,
  type Run,
  runArb,
  seed,
} from "./set-fixtures.ts";

/**
 * Issue #19: the engine applies a chunk's decisions (apply-batch.ts) and a set of facilities' due
 * reservations (reserve-batch.ts) in one transaction each. Over random facilities (limits tight
 * enough to run out, fee schedules, several batches and devices) and random decisions (release,
 * reduced, hold, releases above the reserved amount, tranches decided from other states), two
 * databases seeded alike must end identical: one applying by set (and, when the set throws, left
 * exactly as before it and then applied one by one, as the engine falls back), the other applying
 * the same steps one at a time through the per-tranche path. Runs: BARNLINK_PROPERTY_RUNS.
 */
const here = await dialectsHere();
const RUNS = Number(process.env.BARNLINK_PROPERTY_RUNS ?? 0);

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`a set applied at once equals one by one (${dialect})`, () => {
    it("reservations and decisions, mixed outcomes, limits running out", { timeout: 600_000 }, async () => {
      const a = await freshDb(dialect);
      const b = await freshDb(dialect);
      let n = 0;
      const seen = {
        setReserve: 0,
        fallbackReserve: 0,
        setApply: 0,
        fallbackApply: 0,
        limitHolds: 0,
        releases: 0,
      };
      try {
        await fc.assert(
          fc.asyncProperty(runArb, async (run) => {
            const p = `r${++n}x`;
            await seed(a.db, p, run);
            await seed(b.db, p, run);
            // Phase one: the due tranches reserved as a set, and one by one.
            const due = await dueOf(a.db.kysely, p);
            const before = await moneyState(a.db.kysely, p);
            try {
              await moneyTx(a.db.kysely, (trx) => reserveDueIn(trx, due, NOW));
              seen.setReserve++;
            } catch {
              expect(await moneyState(a.db.kysely, p)).toEqual(before);
              for (const t of due) await reserveDue(testCtx(a.db), t, NOW);
              seen.fallbackReserve++;
            }
            for (const t of await dueOf(b.db.kysely, p)) await reserveDue(testCtx(b.db), t, NOW);
            const reserved = await moneyState(a.db.kysely, p);
            expect(reserved).toEqual(await moneyState(b.db.kysely, p));
            seen.limitHolds += reserved.decisions.length;
            // Phase two: one decision per batch, as a set and one by one.
            const items = await itemsOf(a.db.kysely, p, run);
            expect(await itemsOf(b.db.kysely, p, run)).toEqual(items);
            const cmdA: unknown[] = [];
            const cmdB: unknown[] = [];
            try {
              const r = await moneyTx(a.db.kysely, (trx) => applyDecisionsIn(trx, items));
              for (const c of r.commands) cmdA.push({ device: c.device, name: c.name, args: c.args });
              seen.setApply++;
            } catch {
              // Nothing of the failed set stays; the engine then goes one by one.
              expect(await moneyState(a.db.kysely, p)).toEqual(reserved);
              await oneByOne(a.db, items, cmdA);
              seen.fallbackApply++;
            }
            await oneByOne(b.db, items, cmdB);
            const after = await moneyState(a.db.kysely, p);
            expect(after).toEqual(await moneyState(b.db.kysely, p));
            expect(cmdA).toEqual(cmdB);
            seen.releases += after.orders.length;
          }),
          { numRuns: RUNS || (dialect === "postgres" ? 12 : 25), examples: COVERING.map((r) => [r]) },
        );
        // The runs must have reached both the set path and the fallback, holds for the limit and releases.
        expect(seen.setReserve).toBeGreaterThan(0);
        expect(seen.setApply).toBeGreaterThan(0);
        expect(seen.limitHolds).toBeGreaterThan(0);
        expect(seen.releases).toBeGreaterThan(0);
      } finally {
        await a.drop();
        await b.drop();
      }
    });

    it("a failure injected mid-set leaves nothing of it; the engine decides the others", {
      timeout: 300_000,
    }, async () => {
      const f = await freshDb(dialect);
      try {
        const k = f.db.kysely;
        const run: Run = {
          facilities: [
            {
              limitShare: 1.5,
              fees: "both",
              batches: [
                { head: 20_000, devices: 1 },
                { head: 9_000, devices: 2 },
                { head: 4_000, devices: 1 },
              ],
            },
          ],
          decisions: Array.from({ length: 9 }, (_, i) => ({
            outcome: i === 1 ? "hold" : "release",
            share: 1,
            pick: "oldest",
          })),
        };
        const p = "inj";
        await seed(f.db, p, run);
        for (const t of await dueOf(k, p)) await reserveDue(testCtx(f.db), t, NOW);
        const items = await itemsOf(k, p, run);
        const victim = items[2]!.input.trancheId;
        await injectFailure(f.db, dialect, "lending_payment_orders", victim);
        const before = await moneyState(k, p);
        await expect(moneyTx(k, (trx) => applyDecisionsIn(trx, items))).rejects.toThrow(/injected/);
        expect(await moneyState(k, p)).toEqual(before);
        // Then one by one, as the engine falls back: only the victim fails.
        await oneByOne(f.db, items, []);
        const after = await moneyState(k, p);
        const status = new Map(after.tranches.map((t) => [t.id, t.status]));
        expect(status.get(victim)).toBe("reserved");
        expect(after.orders.map((o) => o.tranche_id)).not.toContain(victim);
        for (const it of items.filter((x) => x.input.trancheId !== victim))
          expect(status.get(it.input.trancheId)).toBe(
            it.input.decision.outcome === "hold" ? "held" : "released",
          );
      } finally {
        await f.drop();
      }
    });
  });

describe.each(DIALECTS.filter((d) => here[d]))(
  "the engine's tick with a failure injected (%s)",
  (dialect) => {
    it("one tranche's failing decision stops neither the set's others nor leaves half of it", {
      timeout: 300_000,
    }, async () => {
      const f = await freshDb(dialect);
      try {
        const k = f.db.kysely;
        const run: Run = {
          facilities: [
            {
              limitShare: 1.5,
              fees: "none",
              batches: [
                { head: 20_000, devices: 1 },
                { head: 9_000, devices: 2 },
              ],
            },
            { limitShare: 1.5, fees: "none", batches: [{ head: 5_000, devices: 1 }] },
          ],
          decisions: [],
        };
        const p = "eng";
        await seed(f.db, p, run);
        const victim = `${p}f0b1-t0`;
        await injectFailure(f.db, dialect, "lending_decisions", victim);
        const ctx = testCtx(f.db, { now: NOW });
        await lendingTick(ctx, NOW);
        const s = await moneyState(k, p);
        const byId = new Map(s.tranches.map((t) => [t.id, t]));
        // No evidence: every due tranche is held, its reservation voided, with its alert and demand;
        // the victim's decision failed alone, so it stays reserved with its reservation held.
        expect(byId.get(victim)!.status).toBe("reserved");
        expect(s.reservations.find((r) => r.tranche_id === victim)!.status).toBe("held");
        for (const t of s.tranches.filter((x) => Number(x.due_at) <= NOW && x.id !== victim)) {
          expect(t.status).toBe("held");
          expect(s.decisions.filter((d) => d.tranche_id === t.id)).toHaveLength(1);
          expect(s.alerts.map((a) => a.dedupe)).toContain(`tranche:${t.id}`);
        }
        expect(s.decisions.map((d) => d.tranche_id)).not.toContain(victim);
        expect(s.alerts.map((a) => a.dedupe)).not.toContain(`tranche:${victim}`);
        const victimFen = Number(byId.get(victim)!.planned_fen);
        expect(s.facilities.map((x) => Number(x.committed_fen))).toEqual([victimFen, 0]);
        // Each batch one level up per held tranche (two due each), devices told each time.
        expect(s.batches.map((b) => Number(b.evidence_level))).toEqual([2, 1, 2]);
        expect(s.demands).toHaveLength(2 + 2 + 2);
        expect(ctx.commands).toHaveLength(6);
      } finally {
        await f.drop();
      }
    });
  },
);

describe.each(DIALECTS.filter((d) => here[d]))(
  "a release that needs the room a hold of the same tick gives back (%s)",
  (dialect) => {
    // Batch 0's release draws more than its reservation, on a facility whose limit is all reserved;
    // batch 1's hold, listed after it, gives room back. The release must get it, by set and one by
    // one alike (limitOrder): before, the set threw and one by one refused it for the limit, yet a
    // second instance running the same decisions a moment later released it — two instances, two
    // outcomes. The third batch's decision fails (injected) when the fallback is under test.
    for (const fallback of [false, true])
      it(`${fallback ? "one by one, after the set failed" : "by set"}: the hold's room first, then the release`, {
        timeout: 300_000,
      }, async () => {
        const f = await freshDb(dialect);
        try {
          const k = f.db.kysely;
          const run: Run = {
            facilities: [
              {
                limitShare: 1,
                fees: "none",
                batches: [
                  { head: 5_000, devices: 1 },
                  { head: 10_000, devices: 1 },
                  { head: 4_000, devices: 1 },
                ],
              },
            ],
            decisions: [],
          };
          const p = fallback ? "lof" : "los";
          await seed(f.db, p, run);
          for (const t of await dueOf(k, p)) await reserveDue(testCtx(f.db), t, NOW);
          const reserved = await moneyState(k, p);
          const fac = reserved.facilities[0]!;
          // Every due tranche reserved, the limit used up to the last fen (floor of the sum).
          expect(reserved.tranches.filter((t) => t.status === "reserved")).toHaveLength(6);
          expect(Number(fac.limit_fen) - Number(fac.committed_fen)).toBeLessThan(1);
          const t0 = (b: number) => reserved.tranches.find((t) => t.id === `${p}f0b${b}-t0`)!;
          const decision = (b: number, outcome: "release" | "hold", share: number) => {
            const kg = Math.floor(Number(t0(b).planned_kg) * share);
            return { outcome, amountFen: kg * 260, kg, reasons: [`r ${outcome}`], gates: [] };
          };
          const assessed: Assessment[] = [
            decision(0, "release", 1.2),
            decision(1, "hold", 0),
            decision(2, "release", 1),
          ].map((d, b) => ({
            decision: d,
            g: { tranche: t0(b), batch: { id: `${p}f0b${b}`, facility_id: `${p}f0` }, findings: [] } as never,
            verified: null,
          }));
          if (fallback) await injectFailure(f.db, dialect, "lending_payment_orders", t0(2).id);
          const out = await applyAssessments(testCtx(f.db, { now: NOW }), assessed, NOW);
          const after = await moneyState(k, p);
          const status = new Map(after.tranches.map((t) => [t.id, t.status]));
          expect(status.get(t0(0).id)).toBe("released");
          expect(status.get(t0(1).id)).toBe("held");
          expect(status.get(t0(2).id)).toBe(fallback ? "reserved" : "released");
          // Results come back in the order the decisions were given.
          expect(out[0]).toMatchObject({ outcome: "release", amountFen: assessed[0]!.decision.amountFen });
          expect(out[1]).toMatchObject({ outcome: "hold" });
          if (fallback) expect(out[2]).toBeInstanceOf(Error);
          else expect(out[2]).toMatchObject({ outcome: "release" });
          expect(after.orders.map((o) => o.tranche_id).sort()).toEqual(
            (fallback ? [t0(0).id] : [t0(0).id, t0(2).id]).sort(),
          );
          // The limit still holds: committed within it, and exactly what the reservations say.
          const committed = Number(after.facilities[0]!.committed_fen);
          expect(committed).toBeLessThanOrEqual(Number(after.facilities[0]!.limit_fen));
          const live = after.reservations.filter((r) => r.status === "held" || r.status === "posted");
          expect(committed).toBe(live.reduce((s, r) => s + Number(r.amount_fen), 0));
        } finally {
          await f.drop();
        }
      });
  },
);
