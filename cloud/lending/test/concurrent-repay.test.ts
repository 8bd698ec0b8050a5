import { sql } from "kysely";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { BarnlinkError } from "../../../core/errors.ts";
import { PG_URL, postgresAvailable } from "../../../test/helpers/services.ts";
import { openDb } from "../../db/connect.ts";
import { applyDecision } from "../apply-decision.ts";
import { reserve } from "../limit.ts";
import { SERVICE_ROLE } from "../migration-0102.ts";
import { repayBatch } from "../repay.ts";
import { freshDb } from "./fresh-db.ts";
import { DAY, seedBatch, T0 } from "./helpers.ts";
import { independentCheck } from "./independent-check.ts";

/**
 * The audit's critical finding: 4 simultaneous full repayments of one batch through two cloud
 * instances applied the principal 2–3 times (principal −95,680 fen, the limit freed twice).
 */
const pgUp = await postgresAvailable();

describe.runIf(pgUp)("simultaneous repayments through two instances (PostgreSQL)", () => {
  it("apply the principal once; the limit is freed once", async () => {
    const a = await freshDb("postgres");
    const b = openDb(PG_URL, { schema: a.schema });
    try {
      await seedBatch(a.db, { head: 1000 });
      const ts = await a.db.kysely
        .selectFrom("lending_tranches")
        .select(["id", "planned_fen"])
        .orderBy("seq")
        .execute();
      // Another tranche's reservation keeps committed high, so a second freeing of the limit does
      // not trip the committed >= 0 guard: only a lock can stop it.
      await reserve(a.db.kysely, "fac1", ts[5]!.id, 50_000_000, T0, 100 * DAY);
      // Warm both pools so the four repayments really run at once.
      await Promise.all(
        [a.db, b, a.db, b, a.db, b, a.db, b].map((db) => sql`select pg_sleep(0.05)`.execute(db.kysely)),
      );
      for (let trial = 0; trial < 5; trial++) {
        const t = ts[trial]!;
        // Same day as the release: no interest days to accrue, so nothing else serialises the repayments.
        const at = T0 + (trial + 1) * 3_600_000;
        await applyDecision(a.db.kysely, {
          trancheId: t.id,
          decision: { outcome: "release", amountFen: Number(t.planned_fen), kg: 1, reasons: [], gates: [] },
          by: "test",
          from: ["planned"],
          at,
        });
        const rs = await Promise.all(
          [a.db, b, a.db, b].map((db, i) =>
            repayBatch(db.kysely, "b1", 10_000_000, `full-${trial}-${i}`, at).catch((e: unknown) => {
              if (e instanceof BarnlinkError && e.statusCode < 500) return null;
              throw e;
            }),
          ),
        );
        expect(rs.reduce((s, r) => s + (r?.principal ?? 0), 0)).toBe(Number(t.planned_fen));
        const { problems, balances } = await independentCheck(a.db, "fac1");
        expect(problems).toEqual([]);
        expect(balances.b1!.loan_principal).toBe(0);
      }
    } finally {
      await b.close();
      await a.drop();
    }
  });

  it("TRUNCATE of the ledger is refused, for the owner (trigger) and the service role (grant)", async () => {
    const a = await freshDb("postgres");
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await seedBatch(a.db, { head: 1000 });
      await c.query(`set search_path = ${a.schema}`);
      for (const t of [
        "lending_ledger_entries",
        "lending_ledger_tx",
        "lending_decisions",
        "lending_audit",
        "lending_payment_files",
      ]) {
        await expect(c.query(`truncate ${t}`), t).rejects.toThrow(/append-only/);
      }
      await c.query(`set role ${SERVICE_ROLE}`);
      await expect(c.query("truncate lending_ledger_entries")).rejects.toThrow(/permission denied/);
      await expect(c.query("update lending_ledger_tx set memo = 'x'")).rejects.toThrow(/permission denied/);
      await expect(c.query("delete from lending_decisions")).rejects.toThrow(/permission denied/);
      // The service role can still do its job: read, append, update mutable state.
      expect((await c.query("select count(*) from lending_ledger_tx")).rows).toHaveLength(1);
      await c.query("update lending_tranches set decided_at = decided_at");
      await c.query("reset role");
      expect(
        Number(
          (await sql<{ n: string }>`select count(*) as n from lending_ledger_entries`.execute(a.db.kysely))
            .rows[0]!.n,
        ),
      ).toBeGreaterThanOrEqual(0);
    } finally {
      await c.end();
      await a.drop();
    }
  });
});
