import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";

/**
 * One HTTP(S) request through node:http, not fetch: Node 20's fetch (undici) parses responses with
 * a WebAssembly build of llhttp, and the gateway's unit may run V8 in lite mode, where WebAssembly
 * does not exist (issue #15, docs/performance.md). Same behaviour as fetch where barnlink relies on
 * it: GET and HEAD follow up to 5 redirects (credentials and authorization only to the same
 * origin), user:password in the URL becomes basic auth, the signal aborts (its reason is the
 * rejection), and the whole body is read.
 */
export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Keep-alive agents, e.g. one connection per camera. */
  agents?: { http?: HttpAgent; https?: HttpsAgent };
  redirects?: number;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export async function httpCall(url: string | URL, o: HttpOptions = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...o.headers };
  if (u.username) {
    const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    headers.authorization ??= `Basic ${Buffer.from(cred).toString("base64")}`;
    u.username = "";
    u.password = "";
  }
  if (o.body !== undefined) headers["content-length"] = String(Buffer.byteLength(o.body));
  const method = (o.method ?? "GET").toUpperCase();
  const signal = o.signal;
  const tls = u.protocol === "https:";
  if (!tls && u.protocol !== "http:")
    throw new TypeError(`${u.protocol} URLs are not supported (http, https)`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const agent = tls ? o.agents?.https : o.agents?.http;
    // node:http(s) load at the first call, not with the agent: a gateway that never downloads a
    // model or an upgrade does not load them (node:https with tls is ~2.6 MB of RSS alone; issue #15).
    const { request } = process.getBuiltinModule(tls ? "node:https" : "node:http");
    const req = request(u, { method, headers, agent, signal }, resolve);
    req.on("error", (e) => reject(signal?.aborted ? signal.reason : e));
    req.end(o.body);
  });
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  const left = o.redirects ?? 5;
  if (status >= 300 && status < 400 && location && left > 0 && (method === "GET" || method === "HEAD")) {
    res.resume();
    const next = new URL(location, u);
    const same = next.origin === u.origin;
    const keep = same ? headers : without(headers, ["authorization", "cookie"]);
    return httpCall(next, { ...o, headers: keep, redirects: left - 1 });
  }
  const chunks: Buffer[] = [];
  try {
    for await (const c of res) chunks.push(c as Buffer);
  } catch (e) {
    throw signal?.aborted ? signal.reason : e;
  }
  return { status, headers: res.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}

function without(h: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!names.includes(k.toLowerCase())) out[k] = v;
  return out;
}
