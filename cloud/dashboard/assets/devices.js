// Devices (gateways): every registered device with its chain, streams and last record, inside the
// signed-in dashboard (no token prompt, no raw API errors).
import { api, date, esc } from "./api.js";
import { fleetPanel, wireFleet } from "./fleet.js";

export async function devicesView(view) {
  const { devices } = await api("/api/v1/devices");
  view.innerHTML = `<div class="page-head"><h1>Devices</h1><span class="muted">${devices.length} registered gateway${devices.length === 1 ? "" : "s"}</span></div>
<section class="card">${
    devices.length
      ? `<table class="devices"><thead><tr><th>device</th><th>name</th><th class="num">streams</th><th class="num">records</th><th>chain</th><th>last record</th></tr></thead><tbody>${devices
          .map(
            (d) =>
              `<tr data-device="${esc(d.id)}"><td><a href="#/devices/${encodeURIComponent(d.id)}">${esc(d.id)}</a></td><td>${esc(d.name ?? "")}</td><td class="num">${d.streams}</td><td class="num">${Number(d.records).toLocaleString()}</td><td class="${d.chain === "ok" ? "ok-text" : "bad-text"}">${esc(d.chain)}</td><td>${date(d.lastSeen)}</td></tr>`,
          )
          .join("")}</tbody></table>`
      : `<p class="muted">No devices registered.</p>`
  }</section>`;
}

export async function deviceView(view, id, me) {
  const d = await api(`/api/v1/devices/${encodeURIComponent(id)}`);
  // Fleet operations are for admins (a config can hold the broker password; a log says a lot).
  const fleet = me?.role === "admin" ? await api(`/api/v1/devices/${encodeURIComponent(id)}/fleet`) : null;
  // Keep what the installer is writing and what they opened across the 5 s refresh.
  const draft = view.querySelector("#fleet-config")?.value;
  const open = new Set([...view.querySelectorAll("details[open][data-key]")].map((x) => x.dataset.key));
  const streams = Object.entries(d.streams ?? {});
  view.innerHTML = `<div class="page-head"><div><a href="#/devices" class="muted">Devices</a> › <h1 class="inline">${esc(id)}</h1></div>
<span class="muted">${esc(d.name ?? "")} · ${d.rejected ?? 0} rejected batches</span></div>
<section class="card"><h2>Streams</h2><table class="streams"><thead><tr><th>stream</th><th class="num">records</th><th class="num">committed seq</th><th>chain</th><th>last seen</th></tr></thead><tbody>${streams
    .map(
      ([name, s]) =>
        `<tr><td>${esc(name)}</td><td class="num">${Number(s.count).toLocaleString()}</td><td class="num">${s.committedSeq}</td><td class="${s.chain === "ok" ? "ok-text" : "bad-text"}">${esc(s.chain)}</td><td>${date(s.lastSeen)}</td></tr>`,
    )
    .join("")}</tbody></table></section>
<div id="fleet">${fleet ? fleetPanel(fleet) : ""}</div>`;
  if (!fleet) return;
  if (draft) view.querySelector("#fleet-config").value = draft;
  for (const x of view.querySelectorAll("details[data-key]")) if (open.has(x.dataset.key)) x.open = true;
  wireFleet(view, id, () => deviceView(view, id, me));
}
