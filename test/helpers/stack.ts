import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Agent } from "../../agent/agent.ts";
import { type AgentConfig, agentConfigSchema } from "../../agent/config.ts";
import type { ApiModule } from "../../cloud/api/server.ts";
import { type BrokerHandle, startBroker } from "../../cloud/broker/broker.ts";
import { issueBrokerSecret } from "../../cloud/broker/credentials.ts";
import { newSecret } from "../../cloud/broker/passwords.ts";
import { RegistryAuth } from "../../cloud/broker/registry-auth.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { type CloudHandle, startCloud } from "../../cloud/service.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { freshDb, MOSQUITTO_URL, PG_URL, tmpDir } from "./services.ts";

export const TEST_TOKEN = "test-admin-token-0123456789";
export const AUDITOR_TOKEN = "test-auditor-token-0123456789";

/** The stack's HTTP API as an admin: GET without a body, POST with one; status and parsed JSON. */
export function adminApi(stack: Pick<Stack, "cloud">) {
  return async (path: string, body?: unknown) => {
    const r = await fetch(`${stack.cloud.url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
}

export interface Stack {
  /** The broker with an admin login in the URL, for tests' observers and forgers. */
  mqttUrl: string;
  /** The broker without credentials. */
  brokerUrl: string;
  cloud: CloudHandle;
  dir: string;
  /** An agent for a registered device with the given sources (default: none; tests emit directly). */
  agent(device: string, patch?: Partial<AgentConfig> & { register?: boolean }): Promise<Agent>;
  /** A device's own broker login (issued now; empty on the shared anonymous Mosquitto). */
  login(device: string): Promise<{ username?: string; password?: string }>;
  stop(): Promise<void>;
}

/**
 * A real broker (embedded aedes, or the machine's Mosquitto), a cloud on a real database (a SQLite
 * file, or a PostgreSQL schema of its own) and agents in this process. Each stack uses its own
 * instance name and device ids, so stacks on the shared Mosquitto do not see each other's traffic.
 */
export async function startStack(o: {
  broker: "aedes" | "mosquitto";
  db: "sqlite" | "postgres";
  modules?: ApiModule[];
}): Promise<Stack> {
  const dir = tmpDir();
  const instance = `test-${randomBytes(4).toString("hex")}`;
  // The embedded broker runs with authentication and ACLs, as in the demo: the cloud and each agent
  // log in with their own accounts; tests' observers and forgers use an admin account (in mqttUrl).
  const cloudPw = newSecret();
  const adminPw = newSecret();
  const auth = new RegistryAuth([
    { username: instance, password: cloudPw, kind: "cloud" },
    { username: "test-observer", password: adminPw, kind: "admin" },
  ]);
  const broker: BrokerHandle | undefined =
    o.broker === "aedes" ? await startBroker({ port: 0, auth }) : undefined;
  const brokerUrl = broker?.url ?? MOSQUITTO_URL;
  const mqttUrl = broker ? `mqtt://test-observer:${adminPw}@${broker.host}:${broker.port}` : MOSQUITTO_URL;
  const fresh = await freshDb(o.db);
  await fresh.db.close();
  const cfg = cloudConfigSchema.parse({
    instance,
    database: { url: o.db === "postgres" ? PG_URL : fresh.url },
    mqtt: { url: brokerUrl, ...(broker ? { username: instance, password: cloudPw } : {}) },
    http: { port: 0 },
    keyFile: join(dir, "cloud.key"),
    tokens: [
      { name: "admin", role: "admin", token: TEST_TOKEN },
      { name: "auditor", role: "auditor", token: AUDITOR_TOKEN },
    ],
  });
  const cloud = await startCloud(cfg, { schema: fresh.schema, modules: o.modules });
  auth.attach(cloud.ctx.db);
  const agents: Agent[] = [];
  const login = async (device: string) =>
    broker ? { username: device, password: await issueBrokerSecret(cloud.ctx.db, device, Date.now()) } : {};
  return {
    mqttUrl,
    brokerUrl,
    cloud,
    dir,
    login,
    async agent(device, patch = {}) {
      const { register = true, ...rest } = patch;
      const creds = await login(device);
      // A test's own cloud section (a proxy URL) still logs in as the device.
      if (rest.cloud) rest.cloud = { ...rest.cloud, mqtt: { ...creds, ...rest.cloud.mqtt } };
      const config = agentConfigSchema().parse({
        device,
        dataDir: join(dir, device),
        cloud: { mqtt: { url: brokerUrl, ...creds }, publicKey: cloud.publicKey },
        sync: { linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 1000 },
        clock: { synced: "always" },
      });
      const a = new Agent({ ...config, ...rest });
      // Registered before it starts, as an installer would: its first batch must not race the registration.
      const key = loadOrCreateKey(join(config.dataDir, "device.key"));
      if (register) await registerDevice(cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
      await a.start();
      agents.push(a);
      return a;
    },
    async stop() {
      for (const a of agents) await a.stop().catch(() => {});
      await cloud.stop();
      await fresh.drop();
      await broker?.close();
    },
  };
}

export function uniqueDevice(prefix = "dev"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}
