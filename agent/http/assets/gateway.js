// The gateway page: polls /api/status and redraws. Plain DOM, no framework, so it stays small on a Pi.
const $ = (id) => document.getElementById(id);
const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
const time = (t) => (t ? new Date(t).toLocaleString() : "–");
const bytes = (n) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
const kpi = (label, value) =>
  `<div class="kpi"><div class="label">${esc(label)}</div><div class="value">${value}</div></div>`;

const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);

/** A faces matcher's operating point: its threshold and what it buys on this herd (census records carry it too). */
function operatingPoint(op) {
  const where =
    op.source === "herd"
      ? `calibrated on this herd (${op.impostorScores} other-pig scores)`
      : "the model card's (too few enrolled scores to calibrate yet)";
  return `<p class="op">Matcher threshold <b>${Number(op.threshold).toFixed(3)}</b> at FAR ${pct(op.far)} per search, ${esc(where)} · known pigs identified <b data-op="identification">${pct(op.identificationRate)}</b> · unknown pigs rejected <b data-op="rejection">${pct(op.unknownRejection)}</b></p>`;
}

function sourceStatus(st) {
  if (!st || typeof st !== "object") return "";
  const parts = [];
  if (st.model) parts.push(`model ${esc(st.model)}${st.backend ? ` (${esc(st.backend)})` : ""}`);
  if (typeof st.pigs === "number") parts.push(`${st.pigs} pigs enrolled, ${st.templates} templates`);
  return (
    (parts.length ? `<p class="muted">${parts.join(" · ")}</p>` : "") +
    (st.operatingPoint ? operatingPoint(st.operatingPoint) : "")
  );
}

function lastValue(v) {
  const b = v.body ?? {};
  if (v.kind === "reading")
    return `${Number(b.value).toLocaleString(undefined, { maximumFractionDigits: 2 })} ${esc(b.unit)}`;
  if (v.kind === "census")
    return `${b.count} head (${esc(b.method)})${
      b.operatingPoint
        ? ` · identified ${pct(b.operatingPoint.identificationRate)}, unknown rejected ${pct(b.operatingPoint.unknownRejection)}`
        : ""
    }`;
  if (v.kind === "delivery") return `${b.kg} kg delivered`;
  if (v.kind === "event") return `${esc(b.input)} = ${esc(b.state)}`;
  if (v.kind === "sighting") return `${esc(b.pig ?? "unknown")} (${Number(b.score).toFixed(2)})`;
  if (v.kind === "media")
    return `${esc(b.mime ?? "media")} · sha256 ${esc(String(b.sha256 ?? "").slice(0, 12))}…`;
  return esc(JSON.stringify(b).slice(0, 48));
}

function render(s) {
  $("device").textContent = s.device;
  document.title = `barnlink gateway · ${s.device}`;
  const pill = $("sync-pill");
  pill.textContent = s.sync.state;
  pill.className = `pill ${s.sync.state === "offline" ? "bad" : s.sync.state === "sending" ? "warn" : ""}`;
  $("clock").textContent = `${time(s.now.wall)}${s.now.synced ? "" : " (clock not synced)"}`;
  $("kpis").innerHTML = [
    kpi("Outbox records", s.sync.pendingRecords.toLocaleString()),
    kpi("Outbox size", bytes(s.sync.pendingBytes)),
    kpi("Batches in flight", s.sync.inFlight),
    kpi("Committed (since start)", s.sync.recordsAcked.toLocaleString()),
    kpi("Reconnects", s.sync.reconnects),
    kpi("Last commit ack", s.sync.lastAckAt ? new Date(s.sync.lastAckAt).toLocaleTimeString() : "–"),
  ].join("");

  $("sources").innerHTML =
    s.sources
      .map(
        (src) =>
          `<h3>${esc(src.name)} <span class="muted">· ${esc(src.driver)}</span></h3>` +
          sourceStatus(src.status) +
          (src.values.length
            ? `<table><tr><th>stream</th><th class="num">last value</th><th>at</th></tr>${src.values
                .map(
                  (v) =>
                    `<tr><td>${esc(v.stream)}</td><td class="num">${lastValue(v)}</td><td class="muted">${time(v.t)}</td></tr>`,
                )
                .join("")}</table>`
            : `<p class="muted">no readings yet</p>`),
      )
      .join("") || `<p class="muted">No sources configured.</p>`;

  $("streams").innerHTML =
    `<table><tr><th>stream</th><th class="num">last seq</th><th class="num">committed</th><th class="num">pending</th><th class="num">bytes</th><th class="num">evicted</th></tr>${s.streams
      .map(
        (x) =>
          `<tr><td>${esc(x.stream)}${x.damaged ? ` <span class="pill bad" title="${esc(x.damaged)}">held: records fail their chain check</span>` : ""}</td><td class="num">${x.lastSeq}</td><td class="num">${x.ackedSeq}</td><td class="num">${x.pending}</td><td class="num">${bytes(x.pendingBytes)}</td><td class="num">${x.evicted}</td></tr>`,
      )
      .join(
        "",
      )}</table><p class="muted">Broker ${esc(s.sync.broker)} · sent ${s.sync.batchesSent} batches, ${s.sync.batchesResent} resent, ${s.sync.batchesAcked} acknowledged</p>`;

  if (s.cameras.length) {
    const stamp = Date.now();
    $("cameras").innerHTML = s.cameras
      .map((c) => {
        if (!c.frame) return `<h3>${esc(c.name)}</h3><p class="muted">no frame yet</p>`;
        const boxes = c.rois
          .map(
            (r, i) =>
              `<rect x="${r.left}" y="${r.top}" width="${r.width}" height="${r.height}"></rect><text x="${r.left + 4}" y="${r.top + 14}">ROI ${i + 1} · ${esc(r.source)}</text>`,
          )
          .join("");
        return `<h3>${esc(c.name)} <span class="muted">· ${c.frame.width}×${c.frame.height} · ${time(c.frame.t)}</span></h3>
<div class="snap" data-camera="${esc(c.name)}"><img alt="snapshot of ${esc(c.name)}" src="/snapshot/${encodeURIComponent(c.name)}.jpg?t=${stamp}">
<svg viewBox="0 0 ${c.frame.width} ${c.frame.height}" preserveAspectRatio="none">${boxes}</svg></div>
<p class="muted">${c.rois.length} region${c.rois.length === 1 ? "" : "s"} of interest · frame sha256 ${esc(c.frame.sha256.slice(0, 16))}…</p>`;
      })
      .join("");
  }

  $("alarms").innerHTML = s.alarms.length
    ? `<table><tr><th>at</th><th>severity</th><th>code</th><th>state</th><th>message</th></tr>${s.alarms
        .map(
          (a) =>
            `<tr><td class="muted">${time(a.t)}</td><td class="sev-${esc(a.severity)}">${esc(a.severity)}</td><td>${esc(a.code)}</td><td>${a.active ? "raised" : "cleared"}</td><td style="white-space:normal">${esc(a.message)}</td></tr>`,
        )
        .join("")}</table>`
    : `<p class="muted">No alarms since the agent started.</p>`;
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function tick() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    render(await r.json());
  } catch (e) {
    $("updated").textContent = `cannot reach the agent: ${e.message}`;
  }
}
tick();
setInterval(tick, 2000);
