import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, chromiumAvailable, launch } from "./harness.ts";
import { inflatedCensusServer, type ScenarioServer } from "./scenario-server.ts";

/**
 * Evidence-quality findings on the batch page and in the API, through the production server's
 * modules: a two-week scenario whose census is inflated above the placed head is replayed into a
 * fresh SQLite database, then the batch page is opened in Debian's chromium.
 */
const ok = await chromiumAvailable();
const TOKEN = "findings-test-admin-token-0001";

describe.runIf(ok)("findings on the batch page (chromium)", () => {
  let browser: Browser;
  let server: ScenarioServer;
  let url: string;

  beforeAll(async () => {
    server = await inflatedCensusServer([{ name: "admin", role: "admin", token: TOKEN }]);
    expect(server.outcomes).toEqual(["release", "release", "hold"]);
    url = server.url;
    browser = await launch();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
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
