// The batch page: collateral and herd, environment against the species bands, feed, the tranche
// timeline with each decision's evidence, device health and the batch's alerts.
import { alertsTable, wireAcks } from "./alerts.js";
import { api, date, esc, kpi, ltvClass, pct, statementButtons, wireStatements, yuanShort } from "./api.js";
import { barChart, timeChart } from "./charts.js";
import { findingsTable } from "./findings.js";
import { wireOverrides } from "./overrides.js";
import { trancheTimeline } from "./tranches.js";

const ENV = {
  temperature: { title: "Temperature", color: "#d9480f" },
  humidity: { title: "Relative humidity", color: "#1864ab" },
  ammonia: { title: "Ammonia", color: "#862e9c" },
};

function deviceHealth(devices) {
  return devices
    .map((d) => {
      const streams = Object.entries(d.streams ?? {});
      const broken = streams.filter(([, s]) => s.chain !== "ok");
      const gaps = streams.reduce((n, [, s]) => n + (s.openGaps?.length ?? 0), 0);
      const last = streams.reduce((m, [, s]) => Math.max(m, s.lastSeen ?? 0), 0);
      return `<div class="device"><div class="d-head"><strong>${esc(d.id)}</strong> <span class="muted">${esc(d.name ?? "")}</span>
<span class="pill ${broken.length ? "bad" : "ok"}">chain ${broken.length ? "broken" : "intact"}</span>
${gaps ? `<span class="pill warn">${gaps} open gap${gaps === 1 ? "" : "s"}</span>` : ""}${d.rejected ? `<span class="pill bad">${d.rejected} rejected</span>` : ""}
<span class="muted">last record ${date(last)}</span></div>
<table class="streams"><thead><tr><th>stream</th><th class="num">records</th><th class="num">committed seq</th><th>chain</th><th>last seen</th></tr></thead><tbody>${streams
        .map(
          ([name, s]) =>
            `<tr><td>${esc(name)}</td><td class="num">${Number(s.count).toLocaleString()}</td><td class="num">${s.committedSeq}</td><td class="${s.chain === "ok" ? "ok-text" : "bad-text"}">${esc(s.chain)}${s.chainError ? `: ${esc(s.chainError)}` : ""}</td><td>${date(s.lastSeen)}</td></tr>`,
        )
        .join("")}</tbody></table></div>`;
    })
    .join("");
}

export async function renderBatch(view, id, me) {
  const enc = encodeURIComponent(id);
  const [b, tranches, series, alerts, findings] = await Promise.all([
    api(`/api/v1/batches/${enc}`),
    api(`/api/v1/batches/${enc}/tranches`),
    api(`/api/v1/dashboard/batches/${enc}/series`),
    api(`/api/v1/alerts?batchId=${enc}`),
    api(`/api/v1/batches/${enc}/findings`).catch(() => []),
  ]);
  const devices = await Promise.all(
    b.devices.map((d) =>
      api(`/api/v1/devices/${encodeURIComponent(d)}`).catch(() => ({ id: d, streams: {} })),
    ),
  );
  const c = b.collateral;
  const expectedNow = series.head.expected.at(-1)?.[1];
  const held = tranches.filter((t) => t.status === "held").length;
  // Keep what the user opened (gate details) across refreshes.
  const openDetails = new Set(
    [...view.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key),
  );
  view.innerHTML = `<div class="page-head"><div><a href="#/" class="muted">Portfolio</a> › <h1 class="inline">${esc(b.id)}</h1></div>
<span class="muted">${esc(b.species)} · barn ${esc(b.barn)} · placed ${date(b.placed_at)} · status ${esc(b.status)} · evidence level ${b.evidence_level}</span>
${b.facility_id ? statementButtons(b.facility_id) : ""}</div>
<section class="kpis">
${kpi("Age", `day ${c.ageDays}`, `of a ${b.cycle_days}-day cycle`)}
${kpi("Head count", c.head.toLocaleString(), `${c.headSource === "census" ? "verified census" : "from plan"}; ${expectedNow ?? "?"} expected`)}
${kpi("Collateral", yuanShort(c.herdValueFen + c.feedStockFen), `herd ${yuanShort(c.herdValueFen)} + feed ${yuanShort(c.feedStockFen)}`)}
${kpi("Outstanding", yuanShort(c.outstandingFen))}
${kpi("LTV", pct(c.ltv), "", ltvClass(c.ltv))}
${kpi("Tranches", `${tranches.filter((t) => t.status === "released").length} / ${tranches.length}`, `released · ${held} held`, held ? "warn" : "")}
</section>
<div class="charts">
<section class="card chart"><div id="ch-head"></div></section>
<section class="card chart"><div id="ch-collateral"></div></section>
${Object.keys(ENV)
  .filter((k) => series.env[k])
  .map((k) => `<section class="card chart"><div id="ch-${k}"></div></section>`)
  .join("")}
<section class="card chart"><div id="ch-feed"></div></section>
<section class="card chart"><div id="ch-silo"></div></section>
</div>
<section class="card"><h2>Tranche timeline</h2>${trancheTimeline(tranches, me)}</section>
<section class="card" id="batch-findings"><h2>Evidence quality</h2>${findingsTable(findings)}</section>
<section class="card"><h2>Alerts for this batch</h2><div id="batch-alerts">${alertsTable(alerts, me)}</div></section>
<section class="card"><h2>Devices and chain status</h2>${deviceHealth(devices)}</section>`;
  for (const [i, d] of view.querySelectorAll("details").entries()) {
    d.dataset.key = String(i);
    if (openDetails.has(String(i))) d.open = true;
  }

  const $ = (x) => view.querySelector(x);
  timeChart($("#ch-head"), {
    id: "head",
    title: "Head count: census vs expected",
    unit: "head",
    yMin: 0,
    series: [
      { label: "census", points: series.head.census, color: "#1f6f4a" },
      { label: "expected (normal mortality)", points: series.head.expected, color: "#868e96", dash: [6, 4] },
    ],
  });
  timeChart($("#ch-collateral"), {
    id: "collateral",
    title: "Collateral value vs outstanding (¥)",
    unit: "¥",
    yMin: 0,
    series: [
      { label: "collateral", points: series.collateral.map((p) => [p[0], p[1] / 100]), color: "#1f6f4a" },
      { label: "outstanding", points: series.collateral.map((p) => [p[0], p[2] / 100]), color: "#d9480f" },
    ],
  });
  for (const [k, e] of Object.entries(series.env)) {
    if (!ENV[k]) continue;
    timeChart($(`#ch-${k}`), {
      id: k,
      title: `${ENV[k].title} (${e.unit}) with the species band`,
      unit: e.unit,
      band: e.band,
      series: [{ label: k, points: e.points, color: ENV[k].color }],
    });
  }
  barChart($("#ch-feed"), {
    id: "feed",
    title: "Feed eaten per day vs plan (kg)",
    unit: "kg",
    x: series.feed.daily.map((d) => d.t),
    groups: [
      { label: "eaten (silo falls)", values: series.feed.daily.map((d) => d.eatenKg) },
      { label: "plan", values: series.feed.daily.map((d) => d.planKg), line: true },
    ],
  });
  timeChart($("#ch-silo"), {
    id: "silo",
    title: "Silo stock and deliveries (kg)",
    unit: "kg",
    yMin: 0,
    series: [
      { label: "silo", points: series.feed.silo, color: "#5c940d" },
      { label: "delivered", points: series.feed.deliveries, color: "#1864ab" },
    ],
  });
  wireAcks($("#batch-alerts"), () => renderBatch(view, id, me));
  wireOverrides(view, () => renderBatch(view, id, me));
  wireStatements(view);
  for (const a of view.querySelectorAll("a.api-link"))
    a.addEventListener("click", async (e) => {
      e.preventDefault();
      const data = await api(a.getAttribute("href"));
      const w = window.open("", "_blank");
      if (w) w.document.body.innerHTML = `<pre>${esc(JSON.stringify(data, null, 2))}</pre>`;
    });
}
