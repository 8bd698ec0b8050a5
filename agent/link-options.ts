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
