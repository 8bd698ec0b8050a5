import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfigSchema } from "../../agent/config.ts";
import { demoRobot, writeRobotConfig } from "../../agent/demo/patrol.ts";
import { dashboardModule } from "../../cloud/dashboard/module.ts";
import type { RoundReport } from "../../cloud/patrol/report.ts";
import { patrolModule } from "../../cloud/patrol/routes.ts";
import { parseConfigText } from "../../core/config.ts";
import { type Stack, startStack, TEST_TOKEN } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { ARTIFACTS, chromiumAvailable, launch } from "./harness.ts";

/**
 * The operator's patrol pages in Debian's chromium, on a cloud fed by the demo's robot (the demo's
 * own config, faster: SIMULATED robot and camera) through a real broker and the agent's link.
 */
const ok = await chromiumAvailable();

describe.runIf(ok)("patrol pages in chromium", () => {
  let stack: Stack;
  let browser: Browser;
  let report: RoundReport;
  const device = "dc-robot-1";

  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite", modules: [dashboardModule(), patrolModule()] });
    // The demo's robot config, as `npm start` writes it, with a faster walk and a long dock.
    const b = demoRobot(stack.dir);
    writeRobotConfig(b, {
      mqttUrl: stack.mqttUrl,
      cloudPublicKey: stack.cloud.publicKey,
      speed: 1,
      start: new Date().toISOString(),
      origin: new Date().toISOString(),
    });
    const cfg = parseConfigText(readFileSync(b.configFile, "utf8"), agentConfigSchema(), b.configFile);
    const src = cfg.sources[0] as unknown as { controller: { interval: number; dockTime: number } };
    src.controller.interval = 3000;
    src.controller.dockTime = 600_000;
    await stack.agent(device, { sources: cfg.sources, sync: cfg.sync });
    const get = async <T>(p: string) =>
      (await (
        await fetch(`${stack.cloud.url}/api/v1${p}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })
      ).json()) as T;
    const round = await waitFor(
      async () =>
        (await get<Array<{ round: number; endedAt: number | null }>>(`/patrol/robots/${device}/rounds`)).find(
          (r) => r.endedAt,
        ),
      "a finished round in the cloud",
      { timeoutMs: 120_000 },
    );
    // Everything of the round is uploaded at the dock; wait until the report has all four.
    report = await waitFor(async () => {
      const r = await get<RoundReport>(`/patrol/robots/${device}/rounds/${round.round}`);
      return r.counts?.inspected === 4 ? r : undefined;
    }, "the whole round");
    browser = await launch();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("the demo robot's round finds the planted red lamp and hot rack, and nothing else", () => {
    expect(
      report.findings.map((f) => [f.checkpoint, f.check, f.seen]),
      JSON.stringify(report),
    ).toEqual([
      ["rack-a2", "fault-lamp", "red steady"],
      ["rack-a3", "temperature", expect.stringMatching(/^41\.[2-8]$/)],
    ]);
    expect(report.counts).toMatchObject({ planned: 4, inspected: 4, missed: 0, notChecked: 0 });
  });

  for (const width of [1366, 390]) {
    it(`an operator walks robot → round → finding with its frame → review → trend (${width}px)`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${stack.cloud.url}/`);
      await page.fill("#token-input", TEST_TOKEN);
      await page.click("#signin-form button[type=submit]");
      await page.click('a[data-nav="patrol"]');
      await page.click(`tr[data-robot="${device}"] a`);
      await page.click(`tr[data-round="${report.round}"] a`);
      await page.waitForSelector("li.finding");
      expect(await page.locator("li.finding").count()).toBe(2);
      expect(await page.locator("li.finding").first().textContent()).toMatch(
        /rack-a2.*fault-lamp.*expected off.*seen red steady/,
      );
      // The frame of the violation loads (fetched with the token, shown from a blob).
      await expect
        .poll(
          () =>
            page
              .locator("li.finding img.frame")
              .first()
              .evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth),
          { timeout: 15_000 },
        )
        .toBe(320);
      expect(await page.locator("tr[data-checkpoint] .chk.fail").count()).toBe(2);
      expect(await page.locator("tr[data-checkpoint] .chk.pass").count()).toBeGreaterThan(10);
      // The patrol view itself never scrolls sideways (the shared header is the dashboard's own).
      const scroll = await page.evaluate(() => {
        const v = document.getElementById("view")!;
        return Math.max(
          v.scrollWidth - v.clientWidth,
          ...Array.from(v.querySelectorAll("*")).map(
            (e) => e.getBoundingClientRect().right - window.innerWidth,
          ),
        );
      });
      expect(scroll, "no horizontal scroll").toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, `patrol-round-${width}.png`), fullPage: true });

      const csv = page.waitForEvent("download");
      await page.click("#csv");
      expect((await csv).suggestedFilename()).toBe(`patrol-${device}-${report.round}.csv`);

      if (width === 1366) {
        const form = page.locator('li.finding[data-finding="rack-a2/fault-lamp"] form.review');
        await form.locator("input[name=note]").fill("PSU B replaced");
        await form.locator('button[value="confirmed"]').click();
        await expect
          .poll(
            () => page.locator('li.finding[data-finding="rack-a2/fault-lamp"] .review-done').textContent(),
            { timeout: 15_000 },
          )
          .toMatch(/confirmed by admin.*PSU B replaced/);
      } else {
        expect(await page.locator(".review-done").count()).toBe(1);
      }
      await page.click('tr[data-checkpoint="rack-a3"] a');
      await page.waitForSelector('tr[data-series="temperature"]');
      expect(await page.locator('tr[data-series="temperature"] td.num').first().textContent()).toMatch(
        /^41\./,
      );
      expect(await page.locator('tr[data-series="load-kw"] td.num').first().textContent()).toBe("4.2");
      expect(errors).toEqual([]);
      await page.close();
    }, 90_000);
  }
});
