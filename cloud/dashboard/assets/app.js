// The dashboard shell: sign-in with an API token, hash routes, periodic refresh.

import { alertsView } from "./alerts.js";
import { ApiError, api, esc, setToken, signOut, takeTokenFromHash, token } from "./api.js";
import { renderBatch } from "./batch.js";
import { devicesView, deviceView } from "./devices.js";
import { renderPatrol } from "./patrol.js";
import { paymentsView } from "./payments.js";
import { renderPortfolio } from "./portfolio.js";

const view = document.getElementById("view");
let me = null;
let timer;

function signInForm(message = "") {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").hidden = true;
  view.innerHTML = `<section class="signin card">
  <h1>Sign in</h1>
  <p class="muted">Paste an API token issued by your barnlink administrator. Officers can acknowledge alerts; auditors read only.</p>
  ${message ? `<p class="error" role="alert">${esc(message)}</p>` : ""}
  <form id="signin-form"><label for="token-input">API token</label>
  <input id="token-input" name="token" type="password" autocomplete="off" required>
  <button type="submit" class="primary">Sign in</button></form></section>`;
  document.getElementById("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(document.getElementById("token-input").value.trim());
    start();
  });
}

async function route() {
  clearTimeout(timer);
  const h = location.hash.replace(/^#/, "") || "/";
  const section =
    h.match(/^\/(alerts|payments|devices|patrol)/)?.[1] ?? (h.startsWith("/batch") ? "" : "portfolio");
  for (const a of document.querySelectorAll("[data-nav]"))
    a.classList.toggle("active", a.dataset.nav === section);
  try {
    const batch = h.match(/^\/batch\/(.+)$/);
    if (batch) await renderBatch(view, decodeURIComponent(batch[1]), me);
    else if (h.startsWith("/alerts")) await alertsView(view, me, { open: false });
    else if (h.startsWith("/payments")) await paymentsView(view, me);
    else if (h.startsWith("/devices/"))
      await deviceView(view, decodeURIComponent(h.slice("/devices/".length)), me);
    else if (h.startsWith("/devices")) await devicesView(view, me);
    else if (h.startsWith("/patrol")) await renderPatrol(view, h, me);
    else await renderPortfolio(view, me);
    const open = await api("/api/v1/alerts?open=true");
    const c = document.getElementById("alert-count");
    c.hidden = open.length === 0;
    c.textContent = String(open.length);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signInForm("That token was not accepted.");
    view.insertAdjacentHTML("afterbegin", `<p class="error">${esc(e.message)}</p>`);
  }
  // Refresh unless the user is typing (override reasons) or reading an open details panel.
  timer = setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) route();
    else timer = setTimeout(route, 5000);
  }, 5000);
}

async function start() {
  if (!token()) return signInForm();
  try {
    me = await api("/api/v1/dashboard/me");
  } catch (e) {
    signOut();
    return signInForm(e instanceof ApiError && e.status === 401 ? "That token was not accepted." : e.message);
  }
  document.getElementById("nav").hidden = false;
  const who = document.getElementById("who");
  who.hidden = false;
  who.innerHTML = `<span>${esc(me.name)}</span> <span class="role role-${esc(me.role)}">${esc(me.role)}</span> <button id="signout" class="link">Sign out</button>`;
  document.getElementById("signout").addEventListener("click", () => {
    signOut();
    clearTimeout(timer);
    signInForm();
  });
  route();
}

takeTokenFromHash();
window.addEventListener("hashchange", route);
start();
