import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { AgentHost } from "../../agent/fleet/host.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { startGateway } from "../helpers/gateway.ts";
import { AUDITOR_TOKEN, type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { ARTIFACTS, chromiumAvailable, launch } from "./harness.ts";

/**
 * The device page's fleet panel in Debian's chromium, against a real broker, cloud and gateway: an
 * admin sends a config the gateway rejects (its problems shown), then one it applies, then asks for
 * status and log; the page fits a phone; an auditor sees no fleet panel.
 */
const ok = await chromiumAvailable();

describe.runIf(ok)("device page: remote config and status (chromium)", () => {
  let stack: Stack;
  let browser: Browser;
  let host: AgentHost;
  let base: Record<string, unknown>;
  let password: string;
  const device = uniqueDevice("page");

  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite", modules: cloudModules().modules });
    ({ host, base, password } = await startGateway(stack, device));
    browser = await launch();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    await stack?.stop();
  });

  async function devicePage(width: number, token = TEST_TOKEN): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(90_000);
    page.on("pageerror", (e) => {
      throw e;
    });
    await page.goto(`${stack.cloud.url}/#token=${token}`);
    await page.waitForSelector("#nav:not([hidden])");
    await page.evaluate((d) => {
      location.hash = `#/devices/${d}`;
    }, device);
    await page.waitForSelector("table.streams");
    return page;
  }

  const layoutProblems = (page: Page) =>
    page.evaluate(() => {
      const problems: string[] = [];
      const over = document.documentElement.scrollWidth - window.innerWidth;
      if (over > 0) problems.push(`page scrolls sideways by ${over} px`);
      for (const el of Array.from(
        document.querySelectorAll<HTMLElement>("button, a[href], input, select, textarea, summary"),
      )) {
        if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") continue;
        if (!el.offsetParent) continue;
        el.scrollIntoView({ block: "center", inline: "center" });
        const r = el.getBoundingClientRect();
        if (r.left < -1 || r.right > window.innerWidth + 1)
          problems.push(`${el.tagName.toLowerCase()} "${(el.textContent ?? "").trim().slice(0, 30)}"`);
      }
      return problems;
    });

  async function sendConfig(page: Page, cfg: unknown, deadline = "2s") {
    // Opened once, the form stays open across the page's refreshes.
    if (
      !(await page
        .locator("#fleet details[data-key=fleet-send]")
        .evaluate((d) => (d as HTMLDetailsElement).open))
    )
      await page.locator("#fleet details[data-key=fleet-send] > summary").click();
    await page.fill("#fleet-config", stringify(cfg));
    await page.fill("#fleet-config-form input[name=deadline]", deadline);
    await page.click("#fleet-config-form button[type=submit]");
    await page.locator("#fleet-config-msg").filter({ hasText: "sent" }).waitFor();
  }

  it("an admin sends a config the gateway rejects, then one it applies; the outcomes are the gateway's", async () => {
    const page = await devicePage(1366);
    await page.waitForSelector("#fleet h2");
    await sendConfig(page, { ...base, sync: { window: 0 }, colour: "blue" });
    const rejected = page.locator("table.fleet-requests tr", { has: page.locator("[data-state=rejected]") });
    await rejected.first().waitFor();
    expect(await rejected.first().locator(".fleet-errors").textContent()).toMatch(
      /sync\.window.*colour|colour.*sync\.window/s,
    );
    expect(host.agent.config.sync.window).toBe(8);

    await sendConfig(page, { ...base, sync: { ...(base.sync as object), linger: 25 } });
    await page.locator("table.fleet-requests [data-state=applied]").first().waitFor();
    await page.locator("#fleet p", { hasText: "Running: the cloud's config" }).waitFor();
    expect(host.agent.config.sync.linger).toBe(25);
    expect(await page.locator("body").textContent()).not.toContain(password);
    await page.context().close();
  }, 240_000);

  it("asks for status and log; the answer is shown, secrets redacted, and the page fits a phone", async () => {
    host.agent.log.warn({ password }, `a warning that mentions ${password}`);
    const page = await devicePage(390);
    await page.click("#fleet-status-form button[type=submit]");
    await page.locator("table.fleet-status", { hasText: "connected" }).waitFor();
    await page.locator("#fleet-errors", { hasText: "a warning that mentions [redacted]" }).waitFor();
    await page.locator("#fleet details[data-key=fleet-log] > summary").click();
    expect(await page.locator("#fleet-log").textContent()).toMatch(/config\.apply/);
    expect(await page.locator("body").textContent()).not.toContain(password);
    await page.locator("#fleet details[data-key=fleet-send] > summary").click();
    expect(await layoutProblems(page)).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/device-fleet-390.png`, fullPage: true });
    await page.context().close();
  }, 240_000);

  it("an auditor sees the device without the fleet panel, and the API refuses them", async () => {
    const page = await devicePage(1366, AUDITOR_TOKEN);
    expect(await page.locator("#fleet").innerHTML()).toBe("");
    await page.context().close();
    const r = await fetch(`${stack.cloud.url}/api/v1/devices/${device}/fleet`, {
      headers: { authorization: `Bearer ${AUDITOR_TOKEN}` },
    });
    expect(r.status).toBe(403);
  }, 120_000);
});
