// Evidence-quality findings of a batch (cloud/quality): what the analysis found in each decision
// window, whether the gates refused that evidence, and the records each finding cites.
import { date, esc } from "./api.js";

const SEV = { critical: "bad", warning: "warn", info: "ok" };

const citeList = (cs) =>
  `<ul class="cites">${cs
    .map(
      (c) =>
        `<li><code>${esc(c.device)}/${esc(c.stream)}</code> seq ${c.fromSeq}–${c.toSeq} (${c.count} records) <a href="/api/v1/devices/${encodeURIComponent(c.device)}/records?stream=${encodeURIComponent(c.stream)}&after=${c.fromSeq - 1}&limit=${Math.min(c.count, 500)}" class="api-link" target="_blank" rel="noopener">records</a></li>`,
    )
    .join("")}</ul>`;

export function findingsTable(findings) {
  if (!findings.length) return '<p class="muted">No findings: the evidence looks like a real barn.</p>';
  return `<table class="findings"><thead><tr><th>tranche</th><th>check</th><th>severity</th><th>finding</th></tr></thead><tbody>${findings
    .map(
      (
        f,
      ) => `<tr class="finding" data-check="${esc(f.check)}"><td class="num">${f.trancheSeq ?? ""}</td><td>${esc(f.check)}</td>
<td><span class="pill ${SEV[f.severity] ?? ""}">${esc(f.severity)}</span>${f.unusable ? ' <span class="pill bad">evidence unusable</span>' : ""}${f.pending ? ' <span class="pill warn">pending</span>' : ""}</td>
<td class="wrap">${esc(f.message)} <span class="muted">${date(f.fromT)} → ${date(f.toT)}</span><details><summary>records cited (${f.cites.length} ranges)</summary>${citeList(f.cites)}</details></td></tr>`,
    )
    .join("")}</tbody></table>`;
}
