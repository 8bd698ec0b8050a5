// The tranche timeline: every tranche with its decision, the gates and reasons, and the evidence cited.
import { badge, date, day, esc, yuan } from "./api.js";
import { overrideControls } from "./overrides.js";

const figures = (f) =>
  Object.entries(f ?? {})
    .map(
      ([k, v]) =>
        `<span class="fig"><span class="muted">${esc(k)}</span> ${esc(typeof v === "number" ? v.toLocaleString() : v)}</span>`,
    )
    .join(" ");

const cites = (cs) =>
  cs?.length
    ? `<ul class="cites">${cs
        .map(
          (c) =>
            `<li><code>${esc(c.device)}/${esc(c.stream)}</code> seq ${c.fromSeq}–${c.toSeq} (${c.count} records, ${date(c.fromT)} → ${date(c.toT)}) <a href="/api/v1/devices/${encodeURIComponent(c.device)}/records?stream=${encodeURIComponent(c.stream)}&after=${c.fromSeq - 1}&limit=${Math.min(c.count, 500)}" class="api-link" target="_blank" rel="noopener">records</a></li>`,
        )
        .join("")}</ul>`
    : "";

function gatesTable(gates) {
  return `<table class="gates"><thead><tr><th>gate</th><th>check</th><th>result</th><th>reason and figures</th></tr></thead><tbody>${gates
    .map(
      (
        g,
      ) => `<tr class="${!g.applicable ? "na" : g.pass ? "pass" : "fail"}"><td>(${esc(g.gate)})</td><td>${esc(g.name)}</td>
<td class="nowrap">${!g.applicable ? '<span class="muted">n/a</span>' : g.pass ? '<span class="ok-text">✓ pass</span>' : '<span class="bad-text">✗ fail</span>'}</td>
<td class="wrap">${esc(g.reason ?? "")}<div>${figures(g.figures)}</div><details><summary>evidence cited (${g.cites?.length ?? 0} ranges)</summary>${cites(g.cites)}</details></td></tr>`,
    )
    .join("")}</tbody></table>`;
}

/** Decided tranches and the next few planned ones; the rest of the cycle's plan folds away. */
export function trancheTimeline(tranches, me) {
  if (!tranches.length) return `<p class="muted">No tranches planned.</p>`;
  const decided = tranches.filter((t) => t.decisions.length);
  const planned = tranches.filter((t) => !t.decisions.length);
  const later = planned.slice(2);
  return `<ol class="timeline">${item([...decided, ...planned.slice(0, 2)], me)}</ol>${
    later.length
      ? `<details class="later"><summary>${later.length} more planned tranches (to day ${later.at(-1).to_day}, ${yuan(later.reduce((n, t) => n + Number(t.planned_fen), 0))} in total)</summary><ol class="timeline">${item(later)}</ol></details>`
      : ""
  }`;
}

function item(tranches, me) {
  return tranches
    .map((t) => {
      const d = t.decisions[t.decisions.length - 1];
      const outcome = d?.outcome ?? t.status;
      return `<li class="tranche t-${esc(outcome)}" data-tranche="${esc(t.id)}" data-seq="${t.seq}">
<div class="t-head"><span class="dot"></span><strong>Tranche ${t.seq}</strong> ${badge(outcome)}
<span class="muted">days ${t.from_day}–${t.to_day} · due ${day(t.due_at)} · planned ${yuan(t.planned_fen)} for ${Number(t.planned_kg).toLocaleString()} kg</span>
${t.released_fen ? `<span class="paid">released ${yuan(t.released_fen)} to the feed supplier</span>` : ""}</div>
${
  d
    ? `<div class="t-body">${
        d.reasons.length
          ? `<ul class="reasons ${d.outcome === "release" ? "ok" : ""}">${d.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>`
          : `<p class="ok-text">All gates passed.</p>`
      }<details ${d.outcome !== "release" ? "open" : ""}><summary>Decision by ${esc(d.decided_by)} at ${date(d.decided_at)}: gates and evidence</summary>${gatesTable(d.gates)}</details>
${t.overrides.length ? `<p class="muted">Overrides: ${t.overrides.map((o) => `${esc(o.action)} by ${esc(o.maker)} (${esc(o.status)}): ${esc(o.reason)}`).join("; ")}</p>` : ""}
${t.paymentOrder ? `<p class="muted">Payment order ${esc(t.paymentOrder.end_to_end_id)} · ${esc(t.paymentOrder.status)}</p>` : ""}</div>`
    : `<div class="t-body muted">Not decided yet.</div>`
}<div class="ov">${overrideControls(t, me)}</div></li>`;
    })
    .join("");
}
