// Fleet operations on the device page (admins): send the gateway a config (it validates it, runs
// it on probation and rolls back by itself) and ask it for its status and recent log lines. What is
// shown comes from the gateway's own signed records (docs/fleet.md).
import { api, date, esc } from "./api.js";

// The last "sent" notice of each form survives the re-render that shows the new request.
const notice = { config: "", status: "" };
const PILL = { applied: "ok", answered: "ok", rejected: "bad", "rolled-back": "bad", expired: "bad" };
const pill = (state) =>
  `<span class="pill ${PILL[state] ?? "warn"}" data-state="${esc(state)}">${esc(state)}</span>`;
const short = (sha) => (sha ? `<code title="${esc(sha)}">${esc(sha.slice(0, 12))}</code>` : "–");

function logLine(l) {
  try {
    const j = JSON.parse(l);
    const lvl =
      { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" }[j.level] ?? j.level;
    const { level: _l, time, msg, pid: _p, hostname: _h, name: _n, ...rest } = j;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
    return `<span class="log-${esc(lvl)}">${esc(new Date(time).toISOString().slice(11, 19))} ${esc(lvl)} ${esc(msg ?? "")}${esc(extra)}</span>`;
  } catch {
    return esc(l);
  }
}

function statusBlock(r) {
  if (!r) return `<p class="muted">No status report yet: ask the gateway for one.</p>`;
  const s = r.status ?? {};
  const row = (k, v) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`;
  return `<table class="fleet-status">${[
    row("reported", `${date(r.at)} <span class="muted">(received ${date(r.receivedAt)})</span>`),
    row(
      "link",
      `${s.link?.connected ? '<span class="ok-text">connected</span>' : '<span class="bad-text">offline</span>'} to ${esc(s.link?.broker)} · ${s.link?.reconnects ?? 0} reconnects · ${s.link?.inFlight ?? 0} in flight`,
    ),
    row(
      "outbox",
      `${Number(s.outbox?.pendingRecords ?? 0).toLocaleString()} records, ${Number(s.outbox?.pendingBytes ?? 0).toLocaleString()} bytes waiting · ${s.outbox?.streams?.length ?? 0} streams`,
    ),
    row(
      "clock",
      s.clock?.synced ? '<span class="ok-text">synced</span>' : '<span class="bad-text">not synced</span>',
    ),
    row("config", `${esc(s.config?.source)} ${short(s.config?.sha256)}`),
    row(
      "versions",
      esc(
        Object.entries(s.versions ?? {})
          .map(([k, v]) => `${k} ${v ?? "–"}`)
          .join(" · "),
      ),
    ),
    row("sources", esc((s.sources ?? []).map((x) => `${x.name} (${x.driver})`).join(", ") || "none")),
  ].join("")}</table>
${r.lastErrors?.length ? `<h3>Last warnings and errors</h3><pre class="fleet-log" id="fleet-errors">${r.lastErrors.map(logLine).join("\n")}</pre>` : ""}
<details data-key="fleet-log"><summary>Log: ${r.log?.length ?? 0} lines${r.logTruncated ? " (the newest; more in journald)" : ""}</summary>
<pre class="fleet-log" id="fleet-log">${(r.log ?? []).map(logLine).join("\n")}</pre></details>`;
}

export function fleetPanel(f) {
  const running = f.config.running;
  return `<section class="card"><h2>Configuration</h2>
<p>Running: ${running ? `the cloud's config ${short(running.sha256)} since ${date(running.since)}` : "the gateway's local config file"}</p>
<details data-key="fleet-send"><summary>Send a new config…</summary>
<form id="fleet-config-form"><label for="fleet-config">The whole agent config (YAML), as in /etc/barnlink/agent.yaml</label>
<textarea id="fleet-config" name="config" rows="10" spellcheck="false" required></textarea>
<label>Roll back unless healthy within <input name="deadline" value="60s" size="6" pattern="\\d+(ms|s|m)?"></label>
<button type="submit" class="primary">Send config</button> <span id="fleet-config-msg" class="muted" role="status">${esc(notice.config)}</span></form></details>
${
  f.config.requests.length
    ? `<table class="fleet-requests"><thead><tr><th>sent</th><th>by</th><th>config</th><th>outcome</th><th>detail</th></tr></thead><tbody>${f.config.requests
        .map(
          (r) =>
            `<tr data-request="${esc(r.id)}"><td>${date(r.requestedAt)}</td><td>${esc(r.requestedBy)}</td><td>${short(r.sha256)}</td><td>${pill(r.state)}</td><td>${
              r.errors
                ? `<ul class="fleet-errors">${r.errors.map((e) => `<li><code>${esc(e.path)}</code>: ${esc(e.message)}</li>`).join("")}</ul>`
                : esc(r.reason ?? "")
            }</td></tr>`,
        )
        .join("")}</tbody></table>`
    : `<p class="muted">No config sent from the cloud yet.</p>`
}</section>
<section class="card"><div class="card-head"><h2>Status and log</h2>
<form id="fleet-status-form"><label>Log lines <select name="lines"><option>50</option><option selected>200</option><option>500</option></select></label>
<button type="submit" class="primary">Ask the gateway</button> <span id="fleet-status-msg" role="status">${
    f.status.requests[0] && f.status.requests[0].state !== "answered"
      ? `waiting for ${esc(f.status.requests[0].id.slice(0, 8))}… (${esc(f.status.requests[0].state)})`
      : ""
  }</span></form></div>
${statusBlock(f.status.latest)}</section>`;
}

export function wireFleet(view, id, after) {
  const enc = encodeURIComponent(id);
  const send = async (form, path, body, msg, key) => {
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const r = await api(path, { method: "POST", body });
      notice[key] =
        `sent ${r.command.slice(0, 8)}… at ${new Date().toLocaleTimeString()}; the gateway answers when it is online`;
      msg.textContent = notice[key];
      msg.className = "muted";
      document.activeElement?.blur();
      return true;
    } catch (err) {
      msg.textContent = err.message;
      msg.className = "error";
      button.disabled = false;
      return false;
    }
  };
  view.querySelector("#fleet-config-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const ok = await send(
      f,
      `/api/v1/devices/${enc}/config`,
      { config: f.elements.config.value, deadline: f.elements.deadline.value.trim() || undefined },
      view.querySelector("#fleet-config-msg"),
      "config",
    );
    if (ok) {
      f.elements.config.value = "";
      await after();
    }
  });
  view.querySelector("#fleet-status-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    if (
      await send(
        f,
        `/api/v1/devices/${enc}/status-request`,
        { lines: Number(f.elements.lines.value) },
        view.querySelector("#fleet-status-msg"),
        "status",
      )
    )
      await after();
  });
}
