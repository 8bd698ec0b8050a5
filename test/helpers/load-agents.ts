import { join } from "node:path";
import { sql } from "kysely";
import { Agent } from "../../agent/agent.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import type { Db } from "../../cloud/db/connect.ts";
import { registerDevice } from "../../cloud/devices.ts";

/**
 * Agents for the multi-instance e2e tests (scale-out, affine routing, the RabbitMQ cluster): in this
 * process, registered with the cloud, small batches and a wide window so that many batches of one
 * stream are in flight at once, and fast reconnects.
 */
export async function startLoadAgent(o: {
  dir: string;
  device: string;
  db: Db;
  /** The cloud's public key (base64). */
  publicKey: string;
  mqtt: { url: string; failover?: string[]; keepalive?: string };
  linger: number;
  batchMaxRecords: number;
  window: number;
  reconnectBase: number;
}): Promise<Agent> {
  const a = new Agent(
    agentConfigSchema().parse({
      device: o.device,
      dataDir: join(o.dir, o.device),
      cloud: { mqtt: o.mqtt, publicKey: o.publicKey },
      sync: {
        linger: o.linger,
        batchMaxRecords: o.batchMaxRecords,
        window: o.window,
        ackTimeout: 5000,
        reconnectBase: o.reconnectBase,
        reconnectCap: 1000,
      },
      http: { enabled: false },
      clock: { synced: "always" },
    }),
  );
  await a.start();
  await registerDevice(o.db, o.device, a.key.publicKeyB64, null, Date.now());
  return a;
}

/** `n` readings into each agent, on two streams, valued `from`, `from + 1`, …. */
export function emitReadings(agents: Agent[], n: number, from: number): void {
  for (const a of agents)
    a.emit(
      Array.from({ length: n }, (_, j) => ({
        stream: `env.t${j % 2}`,
        kind: "reading",
        body: { value: from + j, unit: "degC" },
      })),
    );
}

/** Whether every stream of every agent has nothing left unacknowledged. */
export function allAcked(agents: Agent[]): boolean {
  return agents.every((a) => a.outbox.status().every((s) => s.pending === 0));
}

/**
 * Ten readings into each agent every 50 ms until `stop()`, which resolves with how many each agent
 * was given in all (`from` included). The load stops either way: call `stop()` in a `finally`, so
 * that a failed wait never leaves it writing into agents the clean-up closes.
 */
export function startLoad(agents: Agent[], from = 0): { written: () => number; stop: () => Promise<number> } {
  let writing = true;
  let written = from;
  const loop = (async () => {
    while (writing) {
      emitReadings(agents, 10, written);
      written += 10;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    written: () => written,
    stop: async () => {
      writing = false;
      await loop;
      return written;
    },
  };
}

/** How many records the cloud has stored, all devices. */
export async function committedRecords(db: Db): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from records`.execute(db.kysely);
  return Number(r.rows[0]?.n ?? 0);
}
