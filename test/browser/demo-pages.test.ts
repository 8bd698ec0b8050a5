import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheusText } from "../helpers/prom-text.ts";
import { ARTIFACTS, chromiumAvailable, type Demo, getJson, launch, startDemo, waitFor } from "./harness.ts";

/**
 * The lender's dashboard and the gateway page against a running `barnlink demo`, in Debian's
 * chromium driven by playwright-core. Screenshots go to test-artifacts/.
 */
const ok = await chromiumAvailable();

type Tranche = {
  id: string;
  seq: number;
  status: string;
  decisions: Array<{ outcome: string; reasons: string[] }>;
};
type Alert = { id: string; batch_id: string | null; acked_at: number | null; acked_by: string | null };

describe.runIf(ok)("dashboard and gateway pages in chromium (live demo)", () => {
  let demo: Demo;
  let browser: Browser;
  const shot = (name: string) => join(ARTIFACTS, name);

  beforeAll(async () => {
    browser = await launch();
    demo = await startDemo();
    // The heat wave in barn 3 holds a tranche once a barn-day or so has passed (about 10–20 s).
    await waitFor(
      "a held tranche with reasons on batch-barn-3 after placement",
      async () =>
        (
          await getJson<Tranche[]>(`${demo.cloudUrl}/api/v1/batches/batch-barn-3/tranches`, demo.adminToken)
        ).find((t) => t.seq >= 1 && t.status === "held" && t.decisions[0]?.reasons.length),
      90_000,
    );
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    if (!demo) return;
    const code = await demo.stop();
    expect(demo.output()).toMatch(/draining outboxes/);
    expect(code).toBe(0);
  }, 200_000);

  it("signs in with a token, shows the portfolio, a batch's charts with data and a held tranche's reasons", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${demo.cloudUrl}/`);
    await page.fill("#token-input", demo.adminToken);
    await page.click("#signin-form button[type=submit]");
    await page.waitForSelector("table.batches tr[data-batch]");
    expect(await page.locator("table.batches tr[data-batch]").count()).toBe(3);
    await expect.poll(() => page.locator(".who .role").textContent(), { timeout: 15_000 }).toBe("admin");
    await page.screenshot({ path: shot("dashboard-portfolio.png"), fullPage: true });

    await page.click('a[href="#/batch/batch-barn-3"]');
    await page.waitForSelector(".timeline .tranche");
    await page.waitForFunction(
      () => Object.keys((window as { __charts?: object }).__charts ?? {}).length >= 7,
    );
    const charts = await page.evaluate(
      () => (window as unknown as { __charts: Record<string, { series: number; points: number }> }).__charts,
    );
    expect(charts.temperature!.series).toBe(3); // band max, band min, readings
    expect(charts.temperature!.points).toBeGreaterThan(20);
    expect(charts.head!.points).toBeGreaterThan(10);
    expect(charts.collateral!.series).toBe(2);
    expect(charts.silo!.points).toBeGreaterThan(20);
    // The canvas really has a plotted line: count strongly coloured pixels of the temperature chart.
    const inked = await page.evaluate(() => {
      const c = document.querySelector("#ch-temperature canvas") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 200 && d[i]! > 180 && d[i + 2]! < 80) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(100);

    const held = page.locator(".tranche.t-hold").filter({ hasText: "gate (c)" }).first();
    await expect.poll(() => held.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    // Tranche 0 may also be held (no data before placement), with gate (a) listed first: read all reasons.
    expect(await held.locator(".reasons").textContent()).toMatch(
      /gate \(c\) environment within species bands/,
    );
    expect(await held.locator("table.gates tr.fail").count()).toBeGreaterThan(0);
    await held.scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot("dashboard-batch.png"), fullPage: false });
    await page.screenshot({ path: shot("dashboard-batch-full.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("acknowledges an alert as admin; an auditor sees no button and the API refuses", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${demo.cloudUrl}/#token=${demo.adminToken}`);
    await page.click('a[href="#/alerts"]');
    // Open alerts come grouped by batch and cause: acknowledge the first group (one or more alerts).
    const button = page.locator("button[data-ack-group]").first();
    await button.waitFor();
    const id = (await button.getAttribute("data-ack-group"))!.split(",")[0];
    await button.click();
    await page.locator(`tr[data-alert="${id}"]`).filter({ hasText: "acknowledged by demo-admin" }).waitFor();
    const alerts = await getJson<Alert[]>(`${demo.cloudUrl}/api/v1/alerts`, demo.adminToken);
    expect(alerts.find((a) => a.id === id)?.acked_by).toBe("demo-admin");
    await page.screenshot({ path: shot("dashboard-alerts.png"), fullPage: true });
    await page.close();

    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const ro = await ctx.newPage();
    await ro.goto(`${demo.cloudUrl}/#token=${demo.auditorToken}`);
    await ro.click('a[href="#/alerts"]');
    await ro.waitForSelector(".alert-group, table.alerts >> visible=true");
    expect(await ro.locator(".who .role").textContent()).toBe("auditor");
    expect(await ro.locator("button[data-ack], button[data-ack-group]").count()).toBe(0);
    // The role check comes before the alert is looked at: any alert id gets 403 for an auditor.
    const r = await fetch(`${demo.cloudUrl}/api/v1/alerts/${id}/ack`, {
      method: "POST",
      headers: { authorization: `Bearer ${demo.auditorToken}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(r.status).toBe(403);
    await ctx.close();
  }, 300_000);

  it("shows the gateway page: last values, outbox, the camera snapshot with its region of interest", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${demo.gateways.get("barn-1")}/`);
    await expect.poll(() => page.locator("#device").textContent(), { timeout: 15_000 }).toBe("barn-1");
    await page.waitForSelector("#sources td");
    expect(await page.locator("#sources").textContent()).toMatch(/env\.temperature/);
    expect(await page.locator("#streams").textContent()).toMatch(/silo\.weight/);
    await page.waitForFunction(() => {
      const img = document.querySelector(".snap img") as HTMLImageElement | null;
      return !!img && img.complete && img.naturalWidth > 0;
    });
    expect(await page.locator(".snap svg rect").count()).toBe(1);
    expect(await page.locator("#sync-pill").textContent()).toMatch(/in sync|sending/);
    await page.screenshot({ path: shot("gateway.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("serves /metrics on the cloud and on an agent as Prometheus text", async () => {
    const cloud = parsePrometheusText(await (await fetch(`${demo.cloudUrl}/metrics`)).text());
    const sample = (
      p: ReturnType<typeof parsePrometheusText>,
      name: string,
      labels: Record<string, string> = {},
    ) =>
      p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(cloud.types.get("barnlink_records_committed_total")).toBe("counter");
    expect(sample(cloud, "barnlink_records_committed_total")!.value).toBeGreaterThan(100);
    expect(
      sample(cloud, "barnlink_tranche_decisions_total", { outcome: "hold" })!.value,
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(cloud, "barnlink_tranche_decisions_total", { outcome: "release" })!.value,
    ).toBeGreaterThanOrEqual(1);
    expect(sample(cloud, "barnlink_device_last_seen_age_seconds", { device: "barn-1" })).toBeDefined();

    const agentText = await (await fetch(`${demo.gateways.get("barn-1")}/metrics`)).text();
    const agent = parsePrometheusText(agentText);
    expect(sample(agent, "barnlink_records_appended_total", { device: "barn-1" })!.value).toBeGreaterThan(
      100,
    );
    expect(sample(agent, "barnlink_records_committed_total")!.value).toBeGreaterThan(0);
    expect(agent.types.get("barnlink_outbox_bytes")).toBe("gauge");
    expect(sample(agent, "barnlink_backlog_age_seconds")).toBeDefined();
    expect(sample(agent, "barnlink_batches_in_flight")).toBeDefined();
    expect(agent.types.get("barnlink_link_reconnects_total")).toBe("counter");
    expect(sample(agent, "barnlink_camera_frames_total", { camera: "pen-1" })!.value).toBeGreaterThan(0);
  });
});
