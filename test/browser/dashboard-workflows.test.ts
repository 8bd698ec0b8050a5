import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, type Demo, getJson, launch, startDemo, waitFor } from "./harness.ts";

/**
 * A lender's workflows in the dashboard against a running `barnlink demo`, in Debian's chromium:
 * the phone layout (390 px) and a laptop (1366 px), grouped alerts with bulk acknowledge, an
 * override with a second officer's approval, payment file export and download, the Devices page.
 */
const ok = await chromiumAvailable();

type Tranche = { id: string; seq: number; status: string; decisions: Array<{ reasons: string[] }> };
type Alert = { id: string; batch_id: string | null; kind: string; severity: string; acked_at: number | null };

describe.runIf(ok)("dashboard workflows in chromium (live demo)", () => {
  let demo: Demo;
  let browser: Browser;
  let officerToken: string;

  beforeAll(async () => {
    browser = await launch();
    demo = await startDemo();
    officerToken = /API token \(officer\)\s+(\S+)/.exec(demo.output())![1]!;
    await waitFor(
      "a held tranche on batch-barn-3 and two alerts of one batch and cause",
      async () => {
        const ts = await getJson<Tranche[]>(
          `${demo.cloudUrl}/api/v1/batches/batch-barn-3/tranches`,
          demo.adminToken,
        );
        const alerts = await getJson<Alert[]>(`${demo.cloudUrl}/api/v1/alerts?open=true`, demo.adminToken);
        const keys = alerts.map((a) => `${a.batch_id}|${a.kind}`);
        return ts.some((t) => t.status === "held") && keys.length > new Set(keys).size;
      },
      150_000,
    );
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    if (!demo) return;
    const code = await demo.stop();
    expect({ code, tail: code === 0 ? "" : demo.output().slice(-3000) }).toEqual({ code: 0, tail: "" });
  }, 200_000);

  async function signedIn(width: number, tokenValue = demo.adminToken): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width, height: 800 }, acceptDownloads: true });
    const page = await ctx.newPage();
    page.setDefaultTimeout(150_000);
    page.on("dialog", (d) => {
      throw new Error(`a native dialog opened: ${d.message()}`);
    });
    await page.goto(`${demo.cloudUrl}/`);
    await page.fill("#token-input", tokenValue);
    await page.click("#signin-form button[type=submit]");
    await page.waitForSelector("#nav:not([hidden])");
    return page;
  }

  /** Page width beyond the viewport, and controls that cannot be brought on screen. */
  const layoutProblems = (page: Page) =>
    page.evaluate(() => {
      const problems: string[] = [];
      const over = document.documentElement.scrollWidth - window.innerWidth;
      if (over > 0) problems.push(`page scrolls sideways by ${over} px`);
      const controls = Array.from(
        document.querySelectorAll<HTMLElement>("button, a[href], input, select, textarea, summary"),
      );
      for (const el of controls) {
        if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") continue;
        if (!el.offsetParent && getComputedStyle(el).position !== "fixed") continue;
        el.scrollIntoView({ block: "center", inline: "center" });
        const r = el.getBoundingClientRect();
        if (r.left < -1 || r.right > window.innerWidth + 1)
          problems.push(
            `${el.tagName.toLowerCase()} "${(el.textContent ?? "").trim().slice(0, 30)}" at ${Math.round(r.left)}–${Math.round(r.right)} px`,
          );
      }
      window.scrollTo(0, 0);
      return problems;
    });

  for (const width of [390, 1366])
    it(`at ${width} px: no page scrolls sideways, every control is reachable, sign-out stays in the header`, async () => {
      const page = await signedIn(width);
      for (const hash of ["#/", "#/batch/batch-barn-3", "#/alerts", "#/payments", "#/devices"]) {
        await page.evaluate((h) => {
          location.hash = h;
        }, hash);
        await page.waitForFunction(() => !document.querySelector("#view > p.muted"));
        await page.waitForTimeout(0);
        if (hash.includes("batch")) await page.waitForSelector(".timeline .tranche");
        expect({ hash, problems: await layoutProblems(page) }).toEqual({ hash, problems: [] });
      }
      const header = await page.locator("header.top").boundingBox();
      const signout = await page.locator("#signout").boundingBox();
      expect(signout!.y + signout!.height).toBeLessThanOrEqual(header!.y + header!.height + 1);
      expect(signout!.x + signout!.width).toBeLessThanOrEqual(width);
      await page.context().close();
    }, 400_000);

  it("groups open alerts by batch and cause and acknowledges a whole group at once (phone)", async () => {
    const open = await getJson<Alert[]>(`${demo.cloudUrl}/api/v1/alerts?open=true`, demo.adminToken);
    const page = await signedIn(390);
    await page.click('a[href="#/alerts"]');
    await page.waitForSelector(".alert-group");
    const groups = await page.locator(".alert-group").count();
    expect(groups).toBeLessThan(open.length);
    const big = page.locator("button[data-ack-group*=',']").first();
    const ids = (await big.getAttribute("data-ack-group"))!.split(",");
    expect(ids.length).toBeGreaterThan(1);
    await big.scrollIntoViewIfNeeded();
    await big.click();
    await waitFor("the group acknowledged", async () => {
      const all = await getJson<Alert[]>(`${demo.cloudUrl}/api/v1/alerts`, demo.adminToken);
      return ids.every((id) => all.find((a) => a.id === id)?.acked_at);
    });
    await page.context().close();
  }, 400_000);

  it("an officer overrides a held tranche with reason and amount; a second officer approves it", async () => {
    const held = (
      await getJson<Tranche[]>(`${demo.cloudUrl}/api/v1/batches/batch-barn-3/tranches`, demo.adminToken)
    ).find((t) => t.status === "held")!;
    const maker = await signedIn(390);
    await maker.click('a[href="#/batch/batch-barn-3"]');
    const item = maker.locator(`.tranche[data-tranche="${held.id}"]`);
    await item.locator(".ov-form summary").click();
    await item.locator("select[name=action]").selectOption("release");
    await item.locator("input[name=amount]").fill("1000.50");
    await item
      .locator("textarea[name=reason]")
      .fill("vet inspected the barn on site: fans repaired, herd fine");
    await item.locator("form[data-override] button[type=submit]").click();
    await item.locator(".ov-pending").filter({ hasText: "a second officer must approve it" }).waitFor();
    expect(await item.locator("button[data-approve]").count()).toBe(0); // never the maker
    await maker.context().close();

    const checker = await signedIn(1366, officerToken);
    await checker.click('a[href="#/batch/batch-barn-3"]');
    const approve = checker.locator(`.tranche[data-tranche="${held.id}"] button[data-approve]`);
    await approve.click();
    await waitFor("the tranche released by the approval", async () => {
      const t = await getJson<Tranche & { released_fen: number }>(
        `${demo.cloudUrl}/api/v1/tranches/${held.id}`,
        demo.adminToken,
      );
      return t.status === "released" && Number(t.released_fen) === 100_050;
    });
    await checker.context().close();
  }, 400_000);

  it("exports the new payment orders and downloads the pain.001 file", async () => {
    const page = await signedIn(390);
    await page.click('a[href="#/payments"]');
    await page.click("#export-payments");
    const row = page.locator("table.payment-files tr[data-file]").first();
    await row.waitFor();
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      row.locator("button[data-download]").click(),
    ]);
    const path = await download.path();
    const { readFileSync } = await import("node:fs");
    const xml = readFileSync(path, "utf8");
    expect(xml).toMatch(/urn:iso:std:iso:20022:tech:xsd:pain\.001\.001\.03/);
    expect(xml).toMatch(/Golden Valley Feed Co\./);
    expect(download.suggestedFilename()).toMatch(/^BLPF-.*\.xml$/);
    await page.context().close();
  }, 400_000);

  it("the Devices page opens inside the signed-in dashboard: no token prompt, no raw 401 JSON", async () => {
    const page = await signedIn(390);
    await page.click('a[href="#/devices"]');
    await page.waitForSelector("table.devices tr[data-device='barn-1']");
    expect(await page.locator("body").textContent()).not.toMatch(/"statusCode"|BL_AUTH|401/);
    await page.click("tr[data-device='barn-1'] a");
    await page.waitForSelector("table.streams");
    expect(await page.locator("table.streams").textContent()).toMatch(/env\.temperature/);
    await page.context().close();
    // The stand-alone /devices page (what an old bookmark opens) signs in with a form too.
    const ctx = await browser.newContext({ viewport: { width: 390, height: 800 } });
    const bare = await ctx.newPage();
    bare.setDefaultTimeout(90_000);
    const dialogs: string[] = [];
    bare.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await bare.goto(`${demo.cloudUrl}/devices`);
    await bare.waitForSelector("#signin:not([hidden])");
    await bare.fill("#tok", "not-a-real-token-at-all");
    await bare.click("#signin button");
    await bare.locator("#status").filter({ hasText: "not accepted" }).waitFor();
    expect(await bare.locator("body").textContent()).not.toMatch(/"statusCode"|BL_AUTH/);
    await bare.fill("#tok", demo.adminToken);
    await bare.click("#signin button");
    await expect
      .poll(
        async () =>
          `${await bare.locator("#status").textContent()} ${await bare.locator("#devices").textContent()}`,
        {
          timeout: 90_000,
        },
      )
      .toMatch(/updated .*barn-1/s);
    expect(dialogs).toEqual([]);
    await ctx.close();
  }, 400_000);
});
