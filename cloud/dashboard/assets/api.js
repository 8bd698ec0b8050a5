// Token handling, API calls and formatting shared by the dashboard's views.
const KEY = "barnlinkToken";

export function takeTokenFromHash() {
  const m = location.hash.match(/token=([^&]+)/);
  if (!m) return;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#/`);
}
export const token = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const signOut = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, opts = {}) {
  const headers = { authorization: `Bearer ${token()}` };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, {
    method: opts.method ?? "GET",
    headers: { ...headers, ...(opts.headers ?? {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok)
    throw new ApiError(r.status, json?.error?.code ?? "?", json?.error?.message ?? `HTTP ${r.status}`);
  return json;
}

export const esc = (s) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
export const yuan = (fen) =>
  `¥${(Number(fen) / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
export const yuanShort = (fen) => {
  const y = Number(fen) / 100;
  if (Math.abs(y) >= 1e6) return `¥${(y / 1e6).toFixed(2)} M`;
  if (Math.abs(y) >= 1e4) return `¥${(y / 1e3).toFixed(1)} k`;
  return `¥${y.toFixed(2)}`;
};
export const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
export const date = (t) =>
  t ? new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "–";
export const day = (t) => (t ? new Date(t).toLocaleDateString(undefined, { dateStyle: "medium" }) : "–");
export const kpi = (label, value, note = "", cls = "") =>
  `<div class="kpi ${cls}"><div class="label">${esc(label)}</div><div class="value">${value}</div>${note ? `<div class="note">${note}</div>` : ""}</div>`;
export const badge = (outcome) => `<span class="badge b-${esc(outcome)}">${esc(outcome)}</span>`;
export const ltvClass = (ltv) => (ltv === null ? "" : ltv > 0.8 ? "bad" : ltv > 0.6 ? "warn" : "ok");

/** Downloads an API resource that needs the bearer token (a plain link cannot send it). */
export async function download(path, name) {
  const r = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** CSV and PDF statement buttons for a facility (wire them with wireStatements). */
export const statementButtons = (facilityId) =>
  `<span class="statements" data-facility="${esc(facilityId)}"><span class="muted">Statement</span> <button class="ack" data-statement="csv">CSV</button> <button class="ack" data-statement="pdf">PDF</button></span>`;

export function wireStatements(root) {
  for (const b of root.querySelectorAll("button[data-statement]"))
    b.addEventListener("click", () => {
      const id = b.closest("[data-facility]").dataset.facility;
      const ext = b.dataset.statement;
      download(
        `/api/v1/facilities/${encodeURIComponent(id)}/statement.${ext}`,
        `statement-${id}.${ext}`,
      ).catch((err) => {
        b.textContent = err.message;
      });
    });
}
