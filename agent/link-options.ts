import { readFileSync } from "node:fs";
import type { Clock } from "../core/clock.ts";
import { type KeyPair, publicKeyFromB64 } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { LinkOptions } from "../sync/link.ts";
import type { Command } from "../sync/messages.ts";
import type { Outbox } from "../sync/outbox/types.ts";
import type { AgentConfig } from "./config.ts";

/**
 * The link's options from the agent config: the one place where config keys become MQTT connection
 * options (credentials, TLS files, keep-alive) and sync tuning. sync/mqtt-client.ts builds the client.
 */
export function linkOptionsFrom(
  c: AgentConfig,
  parts: {
    outbox: Outbox;
    deviceKey: KeyPair;
    clock: Clock;
    log: Logger;
    onCommand: (cmd: Command) => void | Promise<void>;
  },
): LinkOptions {
  const m = c.cloud.mqtt;
  return {
    url: m.url,
    device: c.device,
    outbox: parts.outbox,
    deviceKey: parts.deviceKey,
    cloudKey: publicKeyFromB64(c.cloud.publicKey),
    clock: parts.clock,
    log: parts.log,
    mqtt: {
      username: m.username,
      password: m.password,
      keepalive: Math.round(m.keepalive / 1000),
      ...(m.failover?.length ? { servers: [m.url, ...m.failover].map(serverOf) } : {}),
      ...(m.caFile ? { ca: readFileSync(m.caFile) } : {}),
      ...(m.certFile ? { cert: readFileSync(m.certFile) } : {}),
      ...(m.keyFile ? { key: readFileSync(m.keyFile) } : {}),
    },
    batch: { maxRecords: c.sync.batchMaxRecords, maxBytes: c.sync.batchMaxBytes, lingerMs: c.sync.linger },
    window: c.sync.window,
    ackTimeoutMs: c.sync.ackTimeout,
    compression: c.sync.compression,
    dailyBudget: c.sync.dailyBudget,
    reconnect: { baseMs: c.sync.reconnectBase, capMs: c.sync.reconnectCap },
    firstSight: (id) => parts.outbox.firstSight(id),
    onCommand: parts.onCommand,
  };
}

/** A broker URL as MQTT.js's `servers` entry (it takes the next one on each reconnect). */
function serverOf(url: string): { host: string; port: number; protocol: "mqtt" | "mqtts" | "ws" | "wss" } {
  const u = new URL(url);
  const protocol =
    ({ "tcp:": "mqtt", "ssl:": "mqtts" } as Record<string, string>)[u.protocol] ?? u.protocol.slice(0, -1);
  const port = u.port
    ? Number(u.port)
    : protocol === "mqtts"
      ? 8883
      : protocol === "ws"
        ? 80
        : protocol === "wss"
          ? 443
          : 1883;
  return { host: u.hostname, port, protocol: protocol as "mqtt" };
}
