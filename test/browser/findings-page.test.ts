import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../cloud/api/auth.ts";
import { buildServer } from "../../cloud/api/server.ts";
import type { CloudContext } from "../../cloud/context.ts";
import { runScenario } from "../../cloud/lending/scenario.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { freshDb } from "../helpers/services.ts";
import { ARTIFACTS, chromiumAvailable, launch } from "./harness.ts";

/**
 * Evidence-quality findings on the batch page and in the API, through the production server's
 * modules: a two-week scenario whose census is inflated above the placed head is replayed into a
 * fresh SQLite database, then the batch page is opened in Debian's chromium.
 */
const ok = await chromiumAvailable();
const TOKEN = "findings-test-admin-token-0001";

describe.runIf(ok)("findings on the batch page (chromium)", () => {
  let browser: Browser;
  let app: FastifyInstance;
  let url: string;
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "barnlink-findings-"));
    const file = join(dir, "inflated.yaml");
    writeFileSync(
      file,
      `name: inflated census (browser test)
description: census 30% above the placed head from day 8
species: broiler
head: 20000
start: "2025-03-03"
days: 15
feedPriceFenPerKg: 260
livePriceFenPerKg: 900
events:
  - { type: inflatedCensus, fromDay: 8, days: 5, factor: 1.3 }
`,
    );
    const f = await freshDb("sqlite");
    drop = f.drop;
    const r = await runScenario(file, { db: f.db });
    expect(r.decisions.map((d) => d.outcome)).toEqual(["release", "release", "hold"]);
    const ctx: CloudContext = {
      db: f.db,
      log: silentLogger,
      key: generateKeyPair(),
      now: () => Date.parse("2025-03-18T00:00:00Z"),
      sendCommand: async () => {},
    };
    app = await buildServer(ctx, [{ name: "admin", role: "admin", sha256: hashToken(TOKEN) }], {
      modules: cloudModules().modules,
    });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    browser = await launch();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await drop();
  });

  it("the API lists the finding with the records it cites", async () => {
    const res = await fetch(`${url}/api/v1/batches/batch1/findings?records=true`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    const list = (await res.json()) as Array<{
      check: string;
      unusable: boolean;
      trancheSeq: number;
      message: string;
      cites: Array<{ stream: string; records: Array<{ body: { count: number } }> }>;
    }>;
    const f = list.find((x) => x.check === "census-vs-placed");
    expect(f).toBeDefined();
    expect(f!.unusable).toBe(true);
    expect(f!.trancheSeq).toBe(2);
    expect(f!.message).toMatch(/inflated census/);
    const census = f!.cites.find((c) => c.stream === "census")!;
    expect(census.records.length).toBeGreaterThan(0);
    for (const rec of census.records) expect(rec.body.count).toBeGreaterThan(20_000);
    const missing = await fetch(`${url}/api/v1/batches/nope/findings`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(missing.status).toBe(404);
  });

  it("shows the finding, its severity and its cited records on the batch page", async () => {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // The scenario registers no device, so /api/v1/devices/gw-barn1 is a 404 the page tolerates;
    // every other failed request is reported with a timeout.
    const failed: string[] = [];
    page.on("response", (r) => {
      if (r.status() >= 400 && !r.url().includes("/api/v1/devices/")) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${url}/#token=${TOKEN}`);
    await page.waitForSelector(".who .role", { timeout: 30_000 }).catch(async (e: unknown) => {
      throw new Error(
        `${String(e)}\npage: ${(await page.content()).slice(0, 1500)}\n${[...errors, ...failed].join("\n")}`,
      );
    });
    await page.evaluate(() => {
      location.hash = "#/batch/batch1";
    });
    const row = page.locator('#batch-findings tr.finding[data-check="census-vs-placed"]');
    await row
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(async (e: unknown) => {
        throw new Error(
          `${String(e)}\npage: ${(await page.locator("body").textContent())?.slice(0, 2000)}\n${[...errors, ...failed].join("\n")}`,
        );
      });
    expect(await row.first().textContent()).toMatch(/counts [\d,]+ head but at most 20,000 can be there/);
    expect(await row.first().locator(".pill.bad").first().textContent()).toBe("critical");
    expect(await row.first().textContent()).toContain("evidence unusable");
    await row.first().locator("summary").click();
    const cite = row.first().locator("ul.cites li").first();
    expect(await cite.textContent()).toMatch(/gw-barn1\/census seq \d+–\d+/);
    await row.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-findings.png"), fullPage: false });
    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  });
});
