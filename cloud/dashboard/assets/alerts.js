// Alerts: grouped by batch and cause (one row for "batch-barn-3 · tranche held × 5", not five), with
// acknowledge for one alert or a whole group (officers and admins; auditors see no button and the
// API refuses anyway).
import { api, date, esc } from "./api.js";

const kindText = (k) => k.replace(/_/g, " ");
const ackCell = (a, me) =>
  a.acked_at
    ? `<span class="muted">acknowledged by ${esc(a.acked_by)}<br>${date(a.acked_at)}</span>`
    : me?.canWrite
      ? `<button class="ack" data-ack="${esc(a.id)}">Acknowledge</button>`
      : `<span class="muted">open</span>`;

export function alertsTable(alerts, me) {
  if (!alerts.length) return `<p class="muted">No alerts.</p>`;
  return `<table class="alerts"><thead><tr><th>raised</th><th>severity</th><th>kind</th><th>batch</th><th>message</th><th>status</th></tr></thead><tbody>${alerts
    .map(
      (
        a,
      ) => `<tr data-alert="${esc(a.id)}" class="${a.acked_at ? "acked" : ""}"><td class="nowrap">${date(a.created_at)}</td>
<td><span class="sev sev-${esc(a.severity)}">${esc(a.severity)}</span></td><td>${esc(kindText(a.kind))}</td>
<td>${a.batch_id ? `<a href="#/batch/${encodeURIComponent(a.batch_id)}">${esc(a.batch_id)}</a>` : "–"}</td><td class="wrap">${esc(a.message)}</td>
<td class="nowrap">${ackCell(a, me)}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

const SEV_RANK = { critical: 0, warning: 1, info: 2 };

/** Open alerts per (batch, kind), the most severe and most recent group first. */
export function groupAlerts(alerts) {
  const groups = new Map();
  for (const a of alerts) {
    const key = `${a.batch_id ?? "–"}|${a.kind}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, batchId: a.batch_id, kind: a.kind, severity: a.severity, alerts: [] };
      groups.set(key, g);
    }
    g.alerts.push(a);
    if ((SEV_RANK[a.severity] ?? 3) < (SEV_RANK[g.severity] ?? 3)) g.severity = a.severity;
  }
  return [...groups.values()].sort(
    (x, y) =>
      (SEV_RANK[x.severity] ?? 3) - (SEV_RANK[y.severity] ?? 3) ||
      Math.max(...y.alerts.map((a) => a.created_at)) - Math.max(...x.alerts.map((a) => a.created_at)),
  );
}

function groupCard(g, me) {
  const latest = g.alerts.reduce((m, a) => (a.created_at > m.created_at ? a : m));
  const n = g.alerts.length;
  const ids = g.alerts.map((a) => a.id).join(",");
  return `<div class="alert-group" data-group="${esc(g.key)}">
<div class="ag-head"><span class="sev sev-${esc(g.severity)}">${esc(g.severity)}</span>
<strong>${g.batchId ? `<a href="#/batch/${encodeURIComponent(g.batchId)}">${esc(g.batchId)}</a>` : "portfolio"}</strong>
<span>${esc(kindText(g.kind))}</span><span class="pill">${n} open</span>
<span class="muted">latest ${date(latest.created_at)}</span>
${me?.canWrite ? `<button class="ack" data-ack-group="${esc(ids)}">${n === 1 ? "Acknowledge" : `Acknowledge all ${n}`}</button>` : ""}</div>
<p class="wrap ag-msg">${esc(latest.message)}</p>
${n > 1 ? `<details><summary>all ${n} alerts</summary>${alertsTable(g.alerts, me)}</details>` : ""}</div>`;
}

async function ackMany(ids) {
  return api("/api/v1/dashboard/alerts/ack", { method: "POST", body: { ids } });
}

/** Wires the Acknowledge buttons (one alert or a group); `after` re-renders once the API has answered. */
export function wireAcks(root, after) {
  for (const b of root.querySelectorAll("button[data-ack], button[data-ack-group]"))
    b.addEventListener("click", async () => {
      b.disabled = true;
      b.textContent = "…";
      try {
        await ackMany((b.dataset.ack ?? b.dataset.ackGroup).split(","));
      } catch (e) {
        b.textContent = e.message;
        return;
      }
      await after();
    });
}

export async function alertsView(view, me) {
  const all = await api("/api/v1/alerts");
  const open = all.filter((a) => !a.acked_at);
  const done = all.filter((a) => a.acked_at);
  const groups = groupAlerts(open);
  view.innerHTML = `<div class="page-head"><h1>Alerts</h1><span class="muted">${open.length} open in ${groups.length} group${groups.length === 1 ? "" : "s"} · ${done.length} acknowledged</span></div>
<section class="card"><h2>Open, by batch and cause</h2>${groups.length ? groups.map((g) => groupCard(g, me)).join("") : `<p class="muted">No open alerts.</p>`}</section>
<section class="card"><h2>Acknowledged</h2>${alertsTable(done.slice(0, 50), me)}</section>`;
  wireAcks(view, () => alertsView(view, me));
}
