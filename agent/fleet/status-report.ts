import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { fromRoot } from "../../core/paths.ts";
import { readCurrent } from "../../models/rollout/install.ts";
import type { Agent } from "../agent.ts";
import { brokerOf } from "./health.ts";
import type { AgentHost } from "./host.ts";
import type { LogRing } from "./log-ring.ts";

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** `status.report` args: how many log lines (bounded) from which level. */
const reportArgs = z.strictObject({
  lines: z.number().int().min(0).max(500).default(200),
  level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
});

/** Log text per report at most: the answer is one record, and records travel in 256 KiB batches. */
export const LOG_BYTES = 64 * 1024;

let version: string | undefined;
const barnlinkVersion = () => {
  try {
    version ??= (JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string }).version;
  } catch {
    version = "unknown";
  }
  return version;
};
const started = Date.now();

/** What a remote installer needs to diagnose a gateway without the barn's LAN. */
export function statusSnapshot(agent: Agent, host: AgentHost) {
  const streams = agent.outbox.status();
  const stats = agent.link.stats;
  const now = agent.clock.now();
  const lastBySource = new Map<string, number>();
  for (const v of agent.latest.values())
    lastBySource.set(v.source, Math.max(lastBySource.get(v.source) ?? 0, v.t));
  return {
    device: agent.config.device,
    uptimeS: Math.round((Date.now() - started) / 1000),
    versions: {
      barnlink: barnlinkVersion(),
      node: process.version,
      model: readCurrent(join(agent.config.dataDir, "models"))?.version ?? null,
    },
    config: host.remote
      ? {
          source: "remote",
          sha256: host.remote.sha256,
          command: host.remote.command,
          appliedAt: host.remote.appliedAt ?? null,
        }
      : { source: "local", sha256: host.origin.localSha256 ?? null },
    clock: { wall: now.wall, synced: now.synced, boot: now.boot, mode: agent.config.clock.synced },
    link: {
      broker: brokerOf(agent),
      connected: stats.connected,
      subscribed: stats.subscribed,
      inFlight: stats.inFlight,
      reconnects: stats.reconnects,
      batchesSent: stats.batchesSent,
      batchesAcked: stats.batchesAcked,
      batchesRejected: stats.batchesRejected,
      lastAckAt: stats.lastAckAt,
    },
    outbox: {
      pendingRecords: streams.reduce((n, s) => n + s.pending, 0),
      pendingBytes: streams.reduce((n, s) => n + s.pendingBytes, 0),
      streams: streams.slice(0, 200).map((s) => ({
        stream: s.stream,
        lastSeq: s.lastSeq,
        ackedSeq: s.ackedSeq,
        pending: s.pending,
        evicted: s.evicted,
        ...(s.damaged ? { damaged: s.damaged } : {}),
      })),
    },
    sources: agent.config.sources.map((s) => ({
      name: s.name,
      driver: s.driver,
      lastReadingAt: lastBySource.get(s.name) ?? null,
    })),
    alarms: agent.recentAlarms.slice(0, 20).map((a) => ({
      code: a.code,
      severity: a.severity,
      subject: a.subject,
      active: a.active,
      message: a.message.slice(0, 300),
      t: a.t,
    })),
    counters: {
      appended: agent.counters.appended,
      badReadings: agent.counters.badReadings,
      alarms: agent.counters.alarms,
    },
  };
}

/**
 * `status.report`: the gateway answers with its status and its recent log lines (bounded, secrets
 * redacted by the ring) as one record of the `status` stream: signed and chained like every record,
 * so the cloud stores what the gateway itself said.
 */
export function registerStatusReport(agent: Agent, host: AgentHost, ring: LogRing | undefined): void {
  agent.onCommand("status.report", (cmd) => {
    const a = reportArgs.safeParse(cmd.args);
    const args = a.success ? a.data : reportArgs.parse({});
    const log = ring?.tail(args.lines, LOG_BYTES, LEVELS[args.level]) ?? { lines: [], truncated: false };
    const errors = ring?.tail(20, 16 * 1024, LEVELS.warn) ?? { lines: [], truncated: false };
    agent.emit([
      {
        stream: "status",
        kind: "event",
        body: {
          input: "status.report",
          state: "answered",
          detail: {
            id: cmd.id,
            status: statusSnapshot(agent, host),
            lastErrors: errors.lines,
            log: log.lines,
            logTruncated: log.truncated,
            ...(a.success ? {} : { argsIgnored: a.error.issues[0]?.message }),
          },
        },
      },
    ]);
    return "answered";
  });
}
