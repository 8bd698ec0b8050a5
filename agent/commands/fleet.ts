import { readFileSync } from "node:fs";
import { ERR_CONFIG_READ, ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { call, conn } from "./cloud-http.ts";

/**
 * `barnlink fleet …`: an installer's remote operations through the cloud's HTTP API (docs/fleet.md).
 * Plain HTTP with an admin token: these commands run on a laptop, not on the cloud host.
 */
const common = {
  url: { type: "string" },
  token: { type: "string" },
  device: { type: "string", short: "d" },
  wait: { type: "boolean" },
  timeout: { type: "string" },
} as const;

const seconds = (s: string | undefined, dflt: number, usage: string) => {
  if (s === undefined) return dflt;
  const m = /^(\d+)\s*(s|m)?$/.exec(s);
  if (!m) throw ERR_USAGE(`--timeout must be like 90s or 5m, not '${s}'\nusage: ${usage}`);
  return Number(m[1]) * (m[2] === "m" ? 60 : 1);
};

async function poll<T>(what: string, timeoutS: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw ERR_USAGE(
        `no answer from the gateway within ${timeoutS} s (${what}); it may be offline: the cloud re-sends when it is back`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

type FleetView = {
  config: {
    requests: Array<{
      id: string;
      state: string;
      reason?: string;
      errors?: Array<{ path: string; message: string }>;
    }>;
  };
  status: { latest: null | ({ id: string } & Record<string, unknown>) };
};

const applyUsage =
  "barnlink fleet config-apply --device ID --file agent.yaml [--deadline 60s] [--wait] [--timeout 5m] [--url URL] [--token TOKEN]";
export const fleetConfigApply: CommandSpec = {
  name: "fleet config-apply",
  summary: "Send a gateway a new config; it validates, restarts on it and rolls back by itself if unhealthy",
  usage: applyUsage,
  async run(argv) {
    const a = args(
      argv,
      { ...common, file: { type: "string", short: "f" }, deadline: { type: "string" } },
      applyUsage,
    );
    const device = need(a.values.device, "--device ID", applyUsage);
    const file = need(a.values.file, "--file agent.yaml", applyUsage);
    const c = conn(a.values, applyUsage);
    let config: string;
    try {
      config = readFileSync(file, "utf8");
    } catch (e) {
      throw ERR_CONFIG_READ(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const sent = await call(c, "POST", `/api/v1/devices/${encodeURIComponent(device)}/config`, {
      config,
      ...(a.values.deadline ? { deadline: a.values.deadline } : {}),
    });
    out(`sent config.apply ${sent.command} to ${device} (sha256 ${sent.sha256})`);
    if (!a.values.wait) return 0;
    const done = await poll("config.apply", seconds(a.values.timeout, 300, applyUsage), async () => {
      const f = (await call(
        c,
        "GET",
        `/api/v1/devices/${encodeURIComponent(device)}/fleet`,
      )) as unknown as FleetView;
      const r = f.config.requests.find((x) => x.id === sent.command);
      return r && ["applied", "rejected", "rolled-back"].includes(r.state) ? r : undefined;
    });
    out(`${done.state}${done.reason ? `: ${done.reason}` : ""}`);
    for (const e of done.errors ?? []) out(`  ${e.path}: ${e.message}`);
    return done.state === "applied" ? 0 : 1;
  },
};

const statusUsage =
  "barnlink fleet status --device ID [--lines 200] [--level info] [--wait] [--json] [--timeout 2m] [--url URL] [--token TOKEN]";
export const fleetStatus: CommandSpec = {
  name: "fleet status",
  summary: "Ask a gateway for its status and recent log lines (answered as a signed record)",
  usage: statusUsage,
  async run(argv) {
    const a = args(
      argv,
      { ...common, lines: { type: "string" }, level: { type: "string" }, json: { type: "boolean" } },
      statusUsage,
    );
    const device = need(a.values.device, "--device ID", statusUsage);
    const c = conn(a.values, statusUsage);
    const lines = a.values.lines === undefined ? undefined : Number(a.values.lines);
    if (lines !== undefined && !(Number.isInteger(lines) && lines >= 0 && lines <= 500))
      throw ERR_USAGE(`--lines must be a whole number from 0 to 500\nusage: ${statusUsage}`);
    const sent = await call(c, "POST", `/api/v1/devices/${encodeURIComponent(device)}/status-request`, {
      ...(lines !== undefined ? { lines } : {}),
      ...(a.values.level ? { level: a.values.level } : {}),
    });
    out(`sent status.report ${sent.command} to ${device}`);
    if (!a.values.wait) return 0;
    const r = await poll("status.report", seconds(a.values.timeout, 120, statusUsage), async () => {
      const f = (await call(
        c,
        "GET",
        `/api/v1/devices/${encodeURIComponent(device)}/fleet`,
      )) as unknown as FleetView;
      const l = f.status.latest;
      return l && l.id === sent.command ? l : undefined;
    });
    if (a.values.json) {
      out(JSON.stringify(r, null, 2));
      return 0;
    }
    const s = r.status as {
      link: { connected: boolean; broker: string };
      outbox: { pendingRecords: number; pendingBytes: number };
      clock: { synced: boolean };
      versions: Record<string, unknown>;
      config: { source: string; sha256: string | null };
    };
    out(`link      ${s.link.connected ? "connected" : "offline"} (${s.link.broker})`);
    out(`outbox    ${s.outbox.pendingRecords} records, ${s.outbox.pendingBytes} bytes waiting`);
    out(`clock     ${s.clock.synced ? "synced" : "NOT synced"}`);
    out(
      `versions  ${Object.entries(s.versions)
        .map(([k, v]) => `${k} ${v ?? "–"}`)
        .join(", ")}`,
    );
    out(`config    ${s.config.source} ${s.config.sha256?.slice(0, 12) ?? ""}`);
    for (const l of (r.log as string[]) ?? []) out(l);
    return 0;
  },
};

export const fleetCommands: CommandSpec[] = [fleetConfigApply, fleetStatus];
