import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PROM_CONTENT_TYPE } from "../../core/metrics.ts";
import { fromRoot } from "../../core/paths.ts";
import type { Agent } from "../agent.ts";
import { agentMetrics } from "./metrics.ts";
import { gatewayStatus } from "./status.ts";

export interface GatewayHttpConfig {
  port: number;
  host: string;
  /** When set, every page except /healthz needs HTTP basic auth with this password (any user name). */
  password?: string;
}

export interface GatewayHttp {
  url: string;
  close(): Promise<void>;
}

const ASSETS = fromRoot("agent/http/assets");
const TYPES: Record<string, string> = {
  "gateway.html": "text/html; charset=utf-8",
  "gateway.css": "text/css; charset=utf-8",
  "gateway.js": "text/javascript; charset=utf-8",
};

/**
 * The gateway's own read-only web page for installers on the barn LAN: node:http (no framework,
 * little RAM on a Pi), one JSON endpoint the page polls, a camera snapshot and /metrics.
 */
export async function startGatewayHttp(agent: Agent, cfg: GatewayHttpConfig): Promise<GatewayHttp> {
  const assets = new Map(Object.keys(TYPES).map((f) => [f, readFileSync(join(ASSETS, f))]));
  const metrics = agentMetrics(agent);
  const digest = (s: string) => createHash("sha256").update(s).digest();
  const want = cfg.password ? digest(cfg.password) : undefined;
  const authorised = (req: IncomingMessage) => {
    if (!want) return true;
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!m) return false;
    const pass = Buffer.from(m[1]!, "base64").toString("utf8").split(":").slice(1).join(":");
    return timingSafeEqual(digest(pass), want);
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/healthz") return send(res, 200, "application/json", JSON.stringify({ ok: true }));
    if (!authorised(req)) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="barnlink gateway", charset="UTF-8"' });
      return res.end("password required");
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "read-only");
    if (path === "/" || path === "/index.html")
      return send(res, 200, TYPES["gateway.html"]!, assets.get("gateway.html")!);
    const asset = assets.get(path.slice(1));
    if (asset) return send(res, 200, TYPES[path.slice(1)]!, asset);
    if (path === "/api/status")
      return send(res, 200, "application/json", JSON.stringify(gatewayStatus(agent)));
    if (path === "/metrics") {
      metrics.refresh();
      return send(res, 200, PROM_CONTENT_TYPE, await metrics.registry.metrics());
    }
    const snap = /^\/snapshot\/([^/]+)\.jpg$/.exec(path);
    if (snap) {
      const frame = agent.cameras.get(decodeURIComponent(snap[1]!))?.latest();
      if (frame) return send(res, 200, "image/jpeg", frame.jpeg);
      return send(res, 404, "text/plain", "no frame yet");
    }
    send(res, 404, "text/plain", "not found");
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      agent.log.warn({ err: e.message, url: req.url }, "gateway page request failed");
      if (!res.headersSent) send(res, 500, "text/plain", "internal error");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = cfg.host === "0.0.0.0" || cfg.host === "::" ? "127.0.0.1" : cfg.host;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
