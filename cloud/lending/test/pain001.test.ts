import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../../test/helpers/services.ts";
import { requireTool } from "../../../test/helpers/tools.ts";
import { applyDecision } from "../apply-decision.ts";
import { balances } from "../ledger.ts";
import { exportPaymentFile } from "../payments.ts";
import { postOrdersToBank } from "../webhook.ts";
import { PAIN001_XSD } from "../xsd-validate.ts";
import { freshDb } from "./fresh-db.ts";
import { DIALECTS, dialectsHere, seedBatch, T0 } from "./helpers.ts";

// The schema ships with the product (cloud/lending/xsd/): the test needs nothing outside the repo.
const XSD = PAIN001_XSD;
// Off CI a missing xmllint skips the test with the reason printed; under CI=true it fails.
const haveXmllint = requireTool("xmllint");

const here = await dialectsHere();

for (const dialect of DIALECTS)
  describe.runIf(here[dialect])(`payment file on ${dialect}`, () => {
    it.runIf(haveXmllint)(
      "exports released tranches once, as pain.001.001.03 that validates with xmllint",
      async () => {
        const { db, drop } = await freshDb(dialect);
        try {
          await seedBatch(db);
          const k = db.kysely;
          const ts = await k
            .selectFrom("lending_tranches")
            .select(["id", "planned_fen", "planned_kg"])
            .orderBy("seq")
            .limit(2)
            .execute();
          for (const t of ts) {
            const d = {
              outcome: "release" as const,
              amountFen: Number(t.planned_fen) + 1,
              kg: Number(t.planned_kg),
              reasons: [],
              gates: [],
            };
            await applyDecision(k, { trancheId: t.id, decision: d, by: "test", from: ["planned"], at: T0 });
          }
          const file = await exportPaymentFile(k, { at: T0 });
          expect(file.count).toBe(2);
          expect(file.xml).toContain("<NbOfTxs>2</NbOfTxs>");
          expect(file.xml).toContain("Feed Co &amp; Sons &lt;Ltd&gt;");
          // Amounts are written from fen: 957841 fen → 9578.41.
          expect(file.xml).toMatch(/<InstdAmt Ccy="CNY">\d+\.\d\d<\/InstdAmt>/);
          await expect(exportPaymentFile(k, { at: T0 })).rejects.toMatchObject({
            code: "BL_PAYMENT_NOTHING",
          });
          const bal = await balances(k, "fac1");
          expect(bal.supplier_payable).toBe(0);
          expect(bal.cash).toBe(-file.ctrlSumFen);
          const path = join(tmpDir(), "pain.xml");
          writeFileSync(path, file.xml);
          const out = execFileSync("xmllint", ["--noout", "--schema", XSD, path], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
          });
          expect(out).toBe("");
          // Bank webhook: one request per order, Idempotency-Key = EndToEndId, 503 retried.
          const seen: Array<{ key: string | null }> = [];
          let calls = 0;
          const fakeFetch = (async (_url: string, init: RequestInit) => {
            calls++;
            seen.push({ key: new Headers(init.headers).get("idempotency-key") });
            return new Response("", { status: calls === 1 ? 503 : 200 });
          }) as typeof fetch;
          const r = await postOrdersToBank(k, file.fileId, {
            url: "http://bank.invalid/pay",
            fetch: fakeFetch,
            backoffMs: 1,
          });
          expect(r.sent).toBe(2);
          expect(calls).toBe(3);
          expect(seen[0]!.key).toBe(seen[1]!.key);
          expect((await postOrdersToBank(k, file.fileId, { url: "x", fetch: fakeFetch })).sent).toBe(0);
        } finally {
          await drop();
        }
      },
    );
  });
