/**
 * A minimal page listing devices and their streams. It asks for an API token (kept in the
 * browser's sessionStorage; `#token=…` in the URL fills it) and reads the same API as any client.
 */
export function demoPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>barnlink — devices</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .75rem;text-align:left}
.ok{color:#1a7f37}.broken{color:#c62828;font-weight:bold}small{color:#666}
</style></head>
<body><h1>barnlink devices</h1><p id="status">loading…</p>
<form id="signin" hidden><label for="tok">API token</label> <input id="tok" type="password" autocomplete="off" required> <button>Sign in</button></form>
<div id="devices"></div>
<script>
const h = location.hash.match(/token=([^&]+)/);
if (h) { sessionStorage.setItem("barnlinkToken", decodeURIComponent(h[1])); history.replaceState(null, "", location.pathname); }
// A form, never a native prompt; a refused token brings the form back with a sentence, not raw JSON.
let token = sessionStorage.getItem("barnlinkToken");
const form = document.getElementById("signin");
function askToken(msg) {
  form.hidden = false;
  document.getElementById("status").textContent = msg;
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  token = document.getElementById("tok").value.trim();
  sessionStorage.setItem("barnlinkToken", token);
  form.hidden = true;
  load();
});
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
async function api(p, t) {
  const r = await fetch(p, { headers: { authorization: "Bearer " + t } });
  if (r.status === 401 || r.status === 403) { const e = new Error("auth"); e.auth = r.status; throw e; }
  if (!r.ok) { const j = await r.json().catch(() => null); throw new Error((j && j.error && j.error.message) || "HTTP " + r.status); }
  return r.json();
}
async function load() {
  if (!token) return askToken("Sign in with an API token issued by your barnlink administrator.");
  // The token this load uses: a late answer to an older token must not undo a newer sign-in.
  const t = token;
  try {
    const { devices } = await api("/api/v1/devices", t);
    let html = "";
    for (const d of devices) {
      const det = await api("/api/v1/devices/" + encodeURIComponent(d.id), t);
      html += "<h2>" + esc(d.id) + " <small>" + esc(d.name || "") + " · rejected " + det.rejected + "</small></h2>";
      html += "<table><tr><th>stream</th><th>committed seq</th><th>records</th><th>chain</th><th>last seen</th></tr>";
      for (const [s, v] of Object.entries(det.streams)) {
        html += "<tr><td>" + esc(s) + "</td><td>" + v.committedSeq + "</td><td>" + v.count + "</td><td class=" + v.chain + ">" + v.chain +
          "</td><td>" + (v.lastSeen ? new Date(v.lastSeen).toLocaleTimeString() : "–") + "</td></tr>";
      }
      html += "</table>";
    }
    if (t !== token) return;
    document.getElementById("devices").innerHTML = html || "<p>No devices registered.</p>";
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (t !== token) return;
    if (e.auth) { sessionStorage.removeItem("barnlinkToken"); token = null; return askToken(e.auth === 401 ? "That token was not accepted; paste another." : "That token may not read devices."); }
    document.getElementById("status").textContent = "could not load devices: " + e.message;
  }
}
// One load at a time: on a slow link a refresh must not pile up behind the last one.
let busy = false;
const refresh = () => { if (token && !busy) { busy = true; load().finally(() => { busy = false; }); } };
load(); setInterval(refresh, 3000);
</script></body></html>`;
}
