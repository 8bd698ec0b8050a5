// Payment files: export the new payment orders as ISO 20022 pain.001 and download any file made so far.
import { api, date, download, esc, yuan } from "./api.js";

export async function paymentsView(view, me) {
  const files = await api("/api/v1/dashboard/payment-files");
  view.innerHTML = `<div class="page-head"><h1>Payment files</h1><span class="muted">ISO 20022 pain.001.001.03 credit transfers to feed suppliers</span></div>
<section class="card">${
    me?.canWrite
      ? `<p>Released tranches become payment orders. Export puts every new order in one file for the bank; each order is exported once.</p>
<button class="primary" id="export-payments">Export new payment orders</button> <span id="export-msg" role="status"></span>`
      : `<p class="muted">Auditors can download files; officers export them.</p>`
  }</section>
<section class="card"><h2>Files</h2>${
    files.length
      ? `<table class="payment-files"><thead><tr><th>file</th><th>created</th><th class="num">orders</th><th class="num">total</th><th></th></tr></thead><tbody>${files
          .map(
            (f) =>
              `<tr data-file="${esc(f.id)}"><td><code>${esc(f.id)}</code></td><td>${date(f.created_at)}</td><td class="num">${f.n}</td><td class="num">${yuan(f.ctrl_sum_fen)}</td><td><button class="ack" data-download="${esc(f.id)}">Download XML</button></td></tr>`,
          )
          .join("")}</tbody></table>`
      : `<p class="muted">No payment files yet.</p>`
  }</section>`;
  view.querySelector("#export-payments")?.addEventListener("click", async (e) => {
    const msg = view.querySelector("#export-msg");
    e.target.disabled = true;
    try {
      const r = await api("/api/v1/payment-files", { method: "POST", body: {} });
      msg.textContent = `${r.fileId}: ${r.count} orders, ${yuan(r.ctrlSumFen)}`;
      await paymentsView(view, me);
    } catch (err) {
      msg.textContent = err.code === "BL_PAYMENT_NOTHING" ? "No new payment orders to export." : err.message;
      msg.className = "muted";
      e.target.disabled = false;
    }
  });
  for (const b of view.querySelectorAll("button[data-download]"))
    b.addEventListener("click", () =>
      download(
        `/api/v1/payment-files/${encodeURIComponent(b.dataset.download)}`,
        `${b.dataset.download}.xml`,
      ).catch((err) => {
        b.textContent = err.message;
      }),
    );
}
