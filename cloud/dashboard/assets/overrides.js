// Officer overrides with maker-checker: an officer releases (with an amount) or holds a tranche with a
// reason; a release waits for a second officer's approval (the API refuses the maker as checker).
import { api, esc, yuan } from "./api.js";

const OVERRIDABLE = { release: ["held", "planned", "reserved"], hold: ["planned", "reserved"] };

/**
 * Ends a pending override without moving money, with a reason: its maker withdraws it, another
 * officer rejects it (the API enforces both; the page offers each only to whom it may).
 */
const closeForm = (
  o,
  how,
) => `<details class="ov-close"><summary>${how === "reject" ? "Reject…" : "Withdraw…"}</summary>
<form data-close="${esc(o.id)}" data-how="${how}"><label class="ov-reason">Reason (kept with the override) <textarea name="reason" rows="2" minlength="10" maxlength="2000" required></textarea></label>
<button type="submit" class="${how === "reject" ? "danger" : ""}">${how === "reject" ? "Reject override" : "Withdraw override"}</button></form></details>`;

/** The override form and pending approvals for one tranche (HTML; `wireOverrides` makes it work). */
export function overrideControls(t, me) {
  const pending = (t.overrides ?? []).filter((o) => o.status === "pending");
  let html = pending
    .map(
      (
        o,
      ) => `<div class="ov-pending" data-pending="${esc(o.id)}"><span class="pill warn">awaiting approval</span>
release ${yuan(o.amount_fen)} requested by <strong>${esc(o.maker)}</strong>: ${esc(o.reason)}
${
  !me?.canWrite
    ? ""
    : me.name === o.maker
      ? `<span class="muted">— a second officer must approve it</span>${closeForm(o, "withdraw")}`
      : `<button class="primary" data-approve="${esc(o.id)}">Approve release</button>${closeForm(o, "reject")}`
}<span class="ov-msg" role="status"></span></div>`,
    )
    .join("");
  const actions = Object.keys(OVERRIDABLE).filter((a) => OVERRIDABLE[a].includes(t.status));
  if (me?.canWrite && actions.length && !pending.length)
    html += `<details class="ov-form"><summary>Override this tranche…</summary>
<form data-override="${esc(t.id)}">
<label>Action <select name="action">${actions.map((a) => `<option value="${a}">${a === "release" ? "Release (needs a second officer)" : "Hold now"}</option>`).join("")}</select></label>
<label>Amount (¥) <input name="amount" type="number" min="0" step="0.01" inputmode="decimal" value="${(Number(t.planned_fen) / 100).toFixed(2)}"></label>
<label class="ov-reason">Reason (what the lender will read) <textarea name="reason" rows="2" minlength="10" maxlength="2000" required placeholder="e.g. vet visit on site confirmed the herd; sensor outage explained"></textarea></label>
<button type="submit" class="primary">Submit override</button><span class="ov-msg" role="status"></span></form></details>`;
  return html;
}

/** Wires the forms and approve buttons under `root`; `after` re-renders once the API has answered. */
export function wireOverrides(root, after) {
  for (const f of root.querySelectorAll("form[data-override]"))
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const msg = f.querySelector(".ov-msg");
      const action = f.elements.action.value;
      const body = { action, reason: f.elements.reason.value.trim() };
      if (action === "release") body.amountFen = Math.round(Number(f.elements.amount.value) * 100);
      f.querySelector("button").disabled = true;
      try {
        await api(`/api/v1/tranches/${encodeURIComponent(f.dataset.override)}/override`, {
          method: "POST",
          body,
          headers: { "idempotency-key": `ov-${f.dataset.override}-${Date.now()}` },
        });
      } catch (err) {
        msg.textContent = err.message;
        msg.className = "ov-msg error";
        f.querySelector("button").disabled = false;
        return;
      }
      document.activeElement?.blur();
      await after();
    });
  for (const f of root.querySelectorAll("form[data-close]"))
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const msg = f.closest(".ov-pending").querySelector(".ov-msg");
      const button = f.querySelector("button");
      button.disabled = true;
      try {
        await api(`/api/v1/overrides/${encodeURIComponent(f.dataset.close)}/${f.dataset.how}`, {
          method: "POST",
          body: { reason: f.elements.reason.value.trim() },
          headers: { "idempotency-key": `${f.dataset.how}-${f.dataset.close}` },
        });
      } catch (err) {
        msg.textContent = err.message;
        msg.className = "ov-msg error";
        button.disabled = false;
        return;
      }
      document.activeElement?.blur();
      await after();
    });
  for (const b of root.querySelectorAll("button[data-approve]"))
    b.addEventListener("click", async () => {
      const msg = b.parentElement.querySelector(".ov-msg");
      b.disabled = true;
      try {
        await api(`/api/v1/overrides/${encodeURIComponent(b.dataset.approve)}/approve`, {
          method: "POST",
          body: {},
          headers: { "idempotency-key": `approve-${b.dataset.approve}` },
        });
      } catch (err) {
        msg.textContent = err.message;
        msg.className = "ov-msg error";
        b.disabled = false;
        return;
      }
      await after();
    });
}
