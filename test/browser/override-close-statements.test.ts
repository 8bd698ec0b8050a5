import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, chromiumAvailable, launch } from "./harness.ts";
import { inflatedCensusServer, type ScenarioServer } from "./scenario-server.ts";

/**
 * Pending overrides rejected by a second officer or withdrawn by their maker, and the facility's
 * CSV/PDF statements, in Debian's chromium at phone and laptop widths. A two-week scenario whose
 * third tranche is held is replayed into a fresh SQLite database and served by the production
 * server's modules, with two officers and an auditor.
 */
const ok = await chromiumAvailable();
const TOKENS = {
  ann: "officer-ann-token-0123456789",
  bo: "officer-bo-token-0123456789",
  aud: "auditor-token-0123456789",
};

describe.runIf(ok)("override reject/withdraw and statements (chromium)", () => {
  let browser: Browser;
  let server: ScenarioServer;
  let url: string;
  let heldId: string;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: r.status,
      json: (await r.json()) as Record<string, unknown> & { error?: { code: string } },
    };
  };
  const overrideOf = async (id: string) =>
    (
      (await call(TOKENS.aud, "GET", `/api/v1/overrides?trancheId=${heldId}`)).json as unknown as Array<{
        id: string;
        status: string;
      }>
    ).find((o) => o.id === id);
  const propose = async () => {
    const r = await call(TOKENS.ann, "POST", `/api/v1/tranches/${heldId}/override`, {
      action: "release",
      amountFen: 50_000,
      reason: "vet visit on site confirmed the herd; sensor outage explained",
    });
    expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
    const pending = (await call(TOKENS.aud, "GET", "/api/v1/overrides?status=pending"))
      .json as unknown as Array<{
      id: string;
    }>;
    expect(pending.length).toBe(1);
    return pending[0]!.id;
  };

  beforeAll(async () => {
    server = await inflatedCensusServer([
      { name: "ann", role: "officer", token: TOKENS.ann },
      { name: "bo", role: "officer", token: TOKENS.bo },
      { name: "audrey", role: "auditor", token: TOKENS.aud },
    ]);
    url = server.url;
    const ts = (await call(TOKENS.aud, "GET", "/api/v1/batches/batch1/tranches")).json as unknown as Array<{
      id: string;
      status: string;
    }>;
    heldId = ts.find((t) => t.status === "held")!.id;
    browser = await launch();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function batchPage(token: string, width: number): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
    const page = await ctx.newPage();
    page.setDefaultTimeout(60_000);
    page.on("pageerror", (e) => {
      throw e;
    });
    await page.goto(`${url}/#token=${token}`);
    await page.waitForSelector("#nav:not([hidden])");
    await page.evaluate(() => {
      location.hash = "#/batch/batch1";
    });
    await page.waitForSelector(`.tranche[data-tranche="${heldId}"]`);
    return page;
  }
  const sideways = (page: Page) =>
    page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

  it("a second officer rejects a pending override with a reason; its maker is offered only Withdraw", async () => {
    const id = await propose();
    const maker = await batchPage(TOKENS.ann, 390);
    const mine = maker.locator(`[data-pending="${id}"]`);
    await mine.waitFor();
    expect(await mine.locator("form[data-how=reject], button[data-approve]").count()).toBe(0);
    expect(await mine.locator("form[data-how=withdraw]").count()).toBe(1);
    await maker.context().close();
    // The API holds the rule too: the maker cannot reject their own override.
    const self = await call(TOKENS.ann, "POST", `/api/v1/overrides/${id}/reject`, {
      reason: "changed my mind, really",
    });
    expect(self.status).toBeGreaterThanOrEqual(400);
    expect(self.json.error?.code).toBe("BL_LENDING_MAKER_CHECKER");

    const checker = await batchPage(TOKENS.bo, 390);
    const theirs = checker.locator(`[data-pending="${id}"]`);
    expect(await theirs.locator("form[data-how=withdraw]").count()).toBe(0);
    await theirs.locator(".ov-close summary").click();
    await theirs.locator("textarea[name=reason]").fill("too short");
    // Under ten characters the browser's own check refuses it (minlength); a longer reason is sent.
    await theirs.locator("form[data-how=reject] button[type=submit]").click();
    expect((await overrideOf(id))?.status).toBe("pending");
    await theirs
      .locator("textarea[name=reason]")
      .fill("no vet report on file; evidence does not support a release");
    expect(await sideways(checker)).toBeLessThanOrEqual(0);
    await checker.screenshot({ path: join(ARTIFACTS, "override-reject-390.png") });
    await theirs.locator("form[data-how=reject] button[type=submit]").click();
    await checker.locator(`[data-pending="${id}"]`).waitFor({ state: "detached" });
    expect((await overrideOf(id))?.status).toBe("rejected");
    await checker.context().close();
  }, 180_000);

  it("the maker withdraws a pending override with a reason; an auditor sees no buttons", async () => {
    const id = await propose();
    const auditor = await batchPage(TOKENS.aud, 1366);
    expect(await auditor.locator(`[data-pending="${id}"] form, [data-pending="${id}"] button`).count()).toBe(
      0,
    );
    await auditor.context().close();
    const other = await call(TOKENS.bo, "POST", `/api/v1/overrides/${id}/withdraw`, {
      reason: "not mine to withdraw at all",
    });
    expect(other.json.error?.code).toBe("BL_LENDING_MAKER_CHECKER");

    const maker = await batchPage(TOKENS.ann, 1366);
    const mine = maker.locator(`[data-pending="${id}"]`);
    await mine.locator(".ov-close summary").click();
    await mine.locator("textarea[name=reason]").fill("the vet's report came back negative; withdrawing");
    await mine.locator("form[data-how=withdraw] button[type=submit]").click();
    await maker.locator(`[data-pending="${id}"]`).waitFor({ state: "detached" });
    expect((await overrideOf(id))?.status).toBe("withdrawn");
    await maker.context().close();
  }, 180_000);

  for (const width of [390, 1366])
    it(`at ${width} px: the batch page and the portfolio download the facility's statement as real CSV and PDF`, async () => {
      const page = await batchPage(TOKENS.aud, width);
      const grab = async (sel: string) => {
        const [d] = await Promise.all([page.waitForEvent("download"), page.locator(sel).first().click()]);
        return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
      };
      const csv = await grab("button[data-statement=csv]");
      expect(csv.name).toMatch(/^statement-.+\.csv$/);
      const text = csv.bytes.toString("utf8");
      expect(text.split("\n")[0]).toMatch(/,/);
      expect(text.split("\n").length).toBeGreaterThan(3);
      const pdf = await grab("button[data-statement=pdf]");
      expect(pdf.name).toMatch(/^statement-.+\.pdf$/);
      expect(pdf.bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");
      expect(pdf.bytes.length).toBeGreaterThan(1000);
      expect(await sideways(page)).toBeLessThanOrEqual(0);
      await page.evaluate(() => {
        location.hash = "#/";
      });
      await page.waitForSelector(".card-head [data-facility]");
      const again = await grab(".card-head button[data-statement=csv]");
      expect(again.bytes.toString("utf8")).toBe(text);
      expect(await sideways(page)).toBeLessThanOrEqual(0);
      await page.context().close();
    }, 180_000);
});
