// Alerts list with acknowledge (officers and admins; auditors see no button and the API refuses anyway).
import { api, date, esc } from "./api.js";

export function alertsTable(alerts, me) {
  if (!alerts.length) return `<p class="muted">No alerts.</p>`;
  return `<table class="alerts"><thead><tr><th>raised</th><th>severity</th><th>kind</th><th>batch</th><th>message</th><th>status</th></tr></thead><tbody>${alerts
    .map(
      (
        a,
      ) => `<tr data-alert="${esc(a.id)}" class="${a.acked_at ? "acked" : ""}"><td class="nowrap">${date(a.created_at)}</td>
<td><span class="sev sev-${esc(a.severity)}">${esc(a.severity)}</span></td><td>${esc(a.kind.replace(/_/g, " "))}</td>
<td>${a.batch_id ? `<a href="#/batch/${encodeURIComponent(a.batch_id)}">${esc(a.batch_id)}</a>` : "–"}</td><td class="wrap">${esc(a.message)}</td>
<td class="nowrap">${
        a.acked_at
          ? `<span class="muted">acknowledged by ${esc(a.acked_by)}<br>${date(a.acked_at)}</span>`
          : me?.canWrite
            ? `<button class="ack" data-ack="${esc(a.id)}">Acknowledge</button>`
            : `<span class="muted">open</span>`
      }</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

/** Wires the Acknowledge buttons; `after` re-renders once the API has answered. */
export function wireAcks(root, after) {
  for (const b of root.querySelectorAll("button[data-ack]"))
    b.addEventListener("click", async () => {
      b.disabled = true;
      b.textContent = "…";
      try {
        await api(`/api/v1/alerts/${encodeURIComponent(b.dataset.ack)}/ack`, {
          method: "POST",
          body: {},
          headers: { "idempotency-key": `ack-${b.dataset.ack}` },
        });
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
  view.innerHTML = `<div class="page-head"><h1>Alerts</h1><span class="muted">${open.length} open · ${done.length} acknowledged</span></div>
<section class="card"><h2>Open</h2>${alertsTable(open, me)}</section>
<section class="card"><h2>Acknowledged</h2>${alertsTable(done.slice(0, 50), me)}</section>`;
  wireAcks(view, () => alertsView(view, me));
}
