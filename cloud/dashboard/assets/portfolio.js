// Portfolio overview: facilities, their batches, collateral, LTV and open alerts.
import { api, badge, esc, kpi, ltvClass, pct, statementButtons, wireStatements, yuanShort } from "./api.js";

const ltvBar = (ltv) =>
  ltv === null
    ? "–"
    : `<span class="ltv ${ltvClass(ltv)}"><span class="bar"><span style="width:${Math.min(100, ltv * 100)}%"></span></span>${pct(ltv)}</span>`;

export async function renderPortfolio(view) {
  const p = await api("/api/v1/dashboard/portfolio");
  const fs = p.facilities;
  const sum = (f) => fs.reduce((n, x) => n + f(x), 0);
  const collateral = sum((f) => f.collateralFen);
  const outstanding = sum((f) => f.outstandingFen);
  const batches = fs.flatMap((f) => f.batches);
  let html = `<div class="page-head"><h1>Portfolio</h1><span class="muted">as of ${new Date(p.at).toLocaleString()} (cloud time)</span></div>
<section class="kpis">
${kpi("Facilities", fs.length, `${batches.length} batches financed`)}
${kpi("Credit limit", yuanShort(sum((f) => f.limitFen)), `${yuanShort(sum((f) => f.availableFen))} available`)}
${kpi("Outstanding", yuanShort(outstanding), "principal, interest and fees")}
${kpi("Collateral", yuanShort(collateral), "herd value + feed in silos")}
${kpi("Portfolio LTV", pct(collateral > 0 ? outstanding / collateral : null), "", ltvClass(collateral > 0 ? outstanding / collateral : null))}
${kpi("Open alerts", `<a href="#/alerts">${p.openAlerts}</a>`, `${p.criticalAlerts} critical`, p.criticalAlerts ? "bad" : "")}
</section>`;
  for (const f of fs) {
    html += `<section class="card"><div class="card-head"><h2>${esc(f.borrower)} <span class="muted">· facility ${esc(f.id)}</span></h2>
<span class="muted">limit ${yuanShort(f.limitFen)} · committed ${yuanShort(f.committedFen)} · outstanding ${yuanShort(f.outstandingFen)} · LTV ${pct(f.ltv)}</span> ${statementButtons(f.id)}</div>
<table class="batches"><thead><tr><th>batch</th><th>barn</th><th>species</th><th class="num">age</th><th class="num">head</th><th class="num">collateral</th><th class="num">outstanding</th><th>LTV</th><th>last tranche</th><th class="num">held</th><th class="num">alerts</th></tr></thead><tbody>`;
    for (const b of f.batches) {
      const c = b.collateral;
      html += `<tr class="row-link" data-batch="${esc(b.id)}"><td><a href="#/batch/${encodeURIComponent(b.id)}">${esc(b.id)}</a></td><td>${esc(b.barn)}</td><td>${esc(b.species)}</td>
<td class="num">day ${c.ageDays}</td><td class="num">${c.head.toLocaleString()} <span class="muted">/ ${b.headPlaced}</span></td>
<td class="num">${yuanShort(c.herdValueFen + c.feedStockFen)}</td><td class="num">${yuanShort(c.outstandingFen)}</td><td>${ltvBar(c.ltv)}</td>
<td>${b.lastDecision ? `#${b.lastDecision.seq} ${badge(b.lastDecision.outcome)}` : '<span class="muted">none yet</span>'}</td>
<td class="num ${b.heldTranches ? "bad-text" : ""}">${b.heldTranches}</td><td class="num ${b.openAlerts ? "bad-text" : ""}">${b.openAlerts}</td></tr>`;
    }
    html += "</tbody></table></section>";
  }
  if (!fs.length) html += `<section class="card"><p class="muted">No facilities yet.</p></section>`;
  view.innerHTML = html;
  wireStatements(view);
  for (const tr of view.querySelectorAll("tr[data-batch]"))
    tr.addEventListener("click", (e) => {
      if (e.target.tagName !== "A") location.hash = `#/batch/${encodeURIComponent(tr.dataset.batch)}`;
    });
}
