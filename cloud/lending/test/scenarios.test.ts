import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repayBatch } from "../repay.ts";
import { expectationProblems, loadScenario, runScenario } from "../scenario.ts";
import { statementView } from "../views.ts";
import { freshDb } from "./fresh-db.ts";
import { DIALECTS, dialectsHere } from "./helpers.ts";

const dir = join(import.meta.dirname, "../../../docs/scenarios");
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`scenarios on ${dialect}`, () => {
    it.each(files)(
      "%s gives the expected tranche decisions",
      async (file) => {
        const s = loadScenario(join(dir, file));
        const { db, drop } = await freshDb(dialect);
        try {
          const r = await runScenario(join(dir, file), { db });
          // Each tranche's decision history ("hold>release" when re-evaluated on late evidence).
          expect(r.decisions.map((d) => d.history)).toEqual(s.expect);
          expect(r.text).toContain(s.name);
          expect(expectationProblems(s, r)).toEqual([]);
          for (const d of r.decisions)
            if (d.history !== "release") expect(d.reasons.join(" ")).toMatch(/gate \([a-e]\)/);
          for (const [seq, words] of Object.entries(s.expectReasons ?? {}))
            expect(r.decisions.find((d) => d.seq === Number(seq))?.reasons.join(" ")).toContain(words);
          for (const check of s.expectFindings ?? []) expect(r.findings.map((f) => f.check)).toContain(check);
          if (file === "herd-sale.yaml") expect(r.alerts.map((a) => a.kind)).not.toContain("mortality");
          if (file === "census-inflated.yaml") {
            // Never re-planned upward on an inflated census.
            const t = await db.kysely.selectFrom("lending_tranches").select("planned_head").execute();
            for (const x of t) expect(Number(x.planned_head)).toBeLessThanOrEqual(s.head);
          }
          if (file === "healthy-herd.yaml") {
            // Close the batch: repay everything at day 42; the ledger shows the broiler example's interest.
            const before = await statementView(db.kysely, "fac1");
            const principal = before.balances.loan_principal;
            const placed = Date.parse(`${s.start}T00:00:00Z`);
            const rep = await repayBatch(
              db.kysely,
              "batch1",
              principal + 200_000,
              "close",
              placed + 42 * 86_400_000,
            );
            expect(rep.principal).toBe(principal);
            expect(rep.closed).toBe(true);
            const perBird = rep.interest / s.head / 100;
            expect(perBird).toBeGreaterThan(0.055);
            expect(perBird).toBeLessThan(0.065);
            const after = await statementView(db.kysely, "fac1");
            expect(after.balances.loan_principal).toBe(0);
            expect(after.balances.interest_receivable).toBe(0);
            expect(after.committedFen).toBe(0);
          }
          if (file === "head-count-drop.yaml") {
            expect(r.alerts.map((a) => a.kind)).toContain("mortality");
            expect(r.commands.some((c) => c.name === "census.interval")).toBe(true);
          }
        } finally {
          await drop();
        }
      },
      180_000,
    );
  });
