// Patrol robots for an operator: robots, rounds, a round's inspection report (findings with the
// frame they were seen in, reviews, CSV/PDF), and a checkpoint's trend. Routes: #/patrol…
import { api, date, esc, kpi, token } from "./api.js";

const frames = new Map(); // sha → object URL: frames never change, fetch each once
const enc = encodeURIComponent;

async function frameUrl(device, sha) {
  if (!frames.has(sha)) {
    const r = await fetch(`/api/v1/patrol/robots/${enc(device)}/frames/${sha}`, {
      headers: { authorization: `Bearer ${token()}` },
    });
    frames.set(sha, r.ok ? URL.createObjectURL(await r.blob()) : null);
  }
  return frames.get(sha);
}

async function download(path, name) {
  const r = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  if (!r.ok) throw new Error(`download failed: HTTP ${r.status}`);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await r.blob());
  a.download = name;
  a.click();
}

const status = (s) =>
  `<span class="pill ${s === "ok" ? "ok" : s === "missed" ? "warn" : "bad"}">${esc(s)}</span>`;

async function robotsView(view) {
  const robots = await api("/api/v1/patrol/robots");
  view.innerHTML = `<div class="page-head"><h1>Patrol robots</h1><span class="muted">${robots.length} robot(s)</span></div>
<section class="card">${
    robots.length
      ? `<table class="patrol-robots"><thead><tr><th>robot</th><th>last round</th><th>inspected</th><th>violations</th><th>missed</th></tr></thead><tbody>${robots
          .map((r) => {
            const l = r.rounds[0];
            return `<tr data-robot="${esc(r.device)}"><td><a href="#/patrol/${enc(r.device)}">${esc(r.device)}</a></td>
<td>${l ? date(l.startedAt) : "–"}</td><td class="num">${l?.inspected ?? 0}</td><td class="num">${l?.violations ?? 0}</td><td class="num">${l?.missed ?? 0}</td></tr>`;
          })
          .join("")}</tbody></table>`
      : `<p class="muted">No patrol robot has sent an inspection yet.</p>`
  }</section>`;
}

async function roundsView(view, device) {
  const rounds = await api(`/api/v1/patrol/robots/${enc(device)}/rounds`);
  view.innerHTML = `<div class="page-head"><h1>${esc(device)}</h1><a href="#/patrol">all robots</a></div>
<section class="card"><h2>Rounds</h2><table class="patrol-rounds"><thead><tr><th>started</th><th>docked</th><th>plan</th><th>inspected</th><th>violations</th><th>missed</th></tr></thead><tbody>${rounds
    .map(
      (
        r,
      ) => `<tr data-round="${r.round}"><td><a href="#/patrol/${enc(device)}/round/${r.round}">${date(r.startedAt)}</a></td>
<td>${r.endedAt ? date(r.endedAt) : `<span class="muted">on patrol</span>`}</td><td>${esc(r.plan)}</td><td class="num">${r.inspected}</td>
<td class="num ${r.violations ? "bad-text" : ""}">${r.violations}</td><td class="num ${r.missed ? "bad-text" : ""}">${r.missed}</td></tr>`,
    )
    .join("")}</tbody></table></section>`;
}

function findingHtml(f, me) {
  const what =
    f.type === "violation"
      ? `<b>${esc(f.checkpoint)}</b> · ${esc(f.check)}: expected <b>${esc(f.expected)}</b>, seen <b class="bad-text">${esc(f.seen)}</b>`
      : `<b>${esc(f.checkpoint)}</b> missed: ${esc(f.reason)}`;
  const review = f.review
    ? `<p class="muted review-done">${esc(f.review.verdict)} by ${esc(f.review.by)} ${date(f.review.at)}${f.review.note ? ` — ${esc(f.review.note)}` : ""}</p>`
    : f.type === "violation" && me?.canWrite
      ? `<form class="review" data-cp="${esc(f.checkpoint)}" data-check="${esc(f.check)}">
<label>Note <input name="note" maxlength="1000" placeholder="what was done"></label>
<button name="verdict" value="confirmed" type="submit">Confirm fault</button>
<button name="verdict" value="false-alarm" type="submit" class="link">False alarm</button></form>`
      : "";
  const img = f.frameSha256
    ? `<figure><img class="frame" data-sha="${esc(f.frameSha256)}" alt="frame at ${esc(f.checkpoint)}" width="320" height="240"><figcaption class="muted">sha256 ${esc(f.frameSha256.slice(0, 16))}…</figcaption></figure>`
    : "";
  return `<li class="finding f-${esc(f.type)}" data-finding="${esc(f.checkpoint)}/${esc(f.check ?? "")}"><div>${what}${review}</div>${img}</li>`;
}

async function roundView(view, device, round, me) {
  const base = `/api/v1/patrol/robots/${enc(device)}/rounds/${round}`;
  const r = await api(base);
  const rows = r.checkpoints
    .map(
      (
        c,
      ) => `<tr data-checkpoint="${esc(c.checkpoint)}"><td><a href="#/patrol/${enc(device)}/checkpoint/${enc(c.checkpoint)}">${esc(c.checkpoint)}</a></td>
<td>${status(c.status)}</td><td class="wrap">${
        c.checks
          ? c.checks
              .map(
                (k) =>
                  `<span class="chk ${k.ok === null ? "skip" : k.ok ? "pass" : "fail"}" title="expected ${esc(k.expected)}${k.skipped ? ` — ${esc(k.skipped)}` : ""}">${esc(k.id)}: ${esc(k.seen || k.skipped || "–")}</span>`,
              )
              .join(" ")
          : `<span class="muted">${esc(c.reason ?? "")}</span>`
      }</td></tr>`,
    )
    .join("");
  view.innerHTML = `<div class="page-head"><h1>Round ${date(r.startedAt)}</h1><a href="#/patrol/${enc(device)}">${esc(device)}</a></div>
<div class="kpis">${kpi("Inspected", `${r.counts.inspected}/${r.counts.planned}`, `plan ${esc(r.plan)}`)}${kpi("Violations", r.counts.violations, "", r.counts.violations ? "bad" : "")}${kpi("Missed", r.counts.missed, "", r.counts.missed ? "warn" : "")}${kpi("Not checked", r.counts.notChecked)}${kpi("Docked", r.complete ? date(r.endedAt) : "on patrol")}</div>
<section class="card"><div class="card-head"><h2>Findings</h2><span><button id="csv">CSV</button> <button id="pdf">PDF</button></span></div>
${r.findings.length ? `<ul class="findings">${r.findings.map((f) => findingHtml(f, me)).join("")}</ul>` : `<p class="ok-text" id="no-findings">Nothing found: every planned checkpoint inspected, every check passed.</p>`}</section>
<section class="card"><h2>Checkpoints</h2><table class="patrol-checkpoints"><thead><tr><th>checkpoint</th><th>status</th><th>checks</th></tr></thead><tbody>${rows}</tbody></table></section>`;
  for (const img of view.querySelectorAll("img.frame"))
    frameUrl(device, img.dataset.sha).then((u) => {
      if (u) img.src = u;
      else
        img.replaceWith(
          Object.assign(document.createElement("span"), {
            className: "muted",
            textContent: "frame not uploaded",
          }),
        );
    });
  view
    .querySelector("#csv")
    .addEventListener("click", () => download(`${base}/report.csv`, `patrol-${device}-${round}.csv`));
  view
    .querySelector("#pdf")
    .addEventListener("click", () => download(`${base}/report.pdf`, `patrol-${device}-${round}.pdf`));
  for (const form of view.querySelectorAll("form.review"))
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api(`${base}/reviews`, {
          method: "POST",
          body: {
            checkpoint: form.dataset.cp,
            check: form.dataset.check,
            verdict: e.submitter.value,
            note: form.note.value,
          },
        });
        await roundView(view, device, round, me);
      } catch (err) {
        form.insertAdjacentHTML("beforeend", `<p class="error">${esc(err.message)}</p>`);
      }
    });
}

function sparkline(points) {
  if (points.length < 2) return "";
  const vs = points.map((p) => p.value);
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const xy = vs
    .map((v, i) => `${(i / (vs.length - 1)) * 300},${58 - ((v - lo) / (hi - lo || 1)) * 56}`)
    .join(" ");
  return `<svg class="spark" viewBox="0 0 300 60" width="300" height="60" role="img"><polyline fill="none" stroke="currentColor" stroke-width="2" points="${xy}"/></svg>`;
}

async function trendView(view, device, cp) {
  const t = await api(`/api/v1/patrol/robots/${enc(device)}/checkpoints/${enc(cp)}/trend`);
  view.innerHTML = `<div class="page-head"><h1>${esc(cp)}</h1><a href="#/patrol/${enc(device)}">${esc(device)}</a></div>
<section class="card"><h2>Trend over ${t.rounds} inspection(s)</h2><table class="patrol-trend"><thead><tr><th>reading</th><th>last</th><th>min</th><th>max</th><th></th></tr></thead><tbody>${Object.entries(
    t.series,
  )
    .map(([k, ps]) => {
      const vs = ps.map((p) => p.value);
      return `<tr data-series="${esc(k)}"><td>${esc(k)}</td><td class="num">${vs.at(-1)}</td><td class="num">${Math.min(...vs)}</td><td class="num">${Math.max(...vs)}</td><td>${sparkline(ps)}</td></tr>`;
    })
    .join("")}</tbody></table></section>
<section class="card"><h2>Failed inspections</h2>${
    t.failures.length
      ? `<ul>${t.failures.map((f) => `<li>${date(f.round * 1000)}: ${esc(f.violations.join("; "))}</li>`).join("")}</ul>`
      : `<p class="muted">None.</p>`
  }</section>`;
}

/** Renders the patrol view for a hash below #/patrol. */
export async function renderPatrol(view, hash, me) {
  const parts = hash.split("/").slice(2).map(decodeURIComponent);
  if (parts.length === 0 || !parts[0]) return robotsView(view);
  if (parts[1] === "round") return roundView(view, parts[0], Number(parts[2]), me);
  if (parts[1] === "checkpoint") return trendView(view, parts[0], parts[2]);
  return roundsView(view, parts[0]);
}
