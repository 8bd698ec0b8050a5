import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { stringify } from "yaml";
import { gatewayHost } from "../../agent/fleet/gateway-host.ts";
import type { AgentHost } from "../../agent/fleet/host.ts";
import { LogRing } from "../../agent/fleet/log-ring.ts";
import { chooseStartupConfig } from "../../agent/fleet/startup.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import type { Stack } from "./stack.ts";
import { waitFor } from "./wait-for.ts";

/**
 * A registered gateway run as `barnlink agent` runs it (agent/fleet/gateway-host.ts: config file,
 * startup choice, log ring, fleet commands), in this process, against a stack's broker and cloud.
 */
export async function startGateway(
  stack: Stack,
  device: string,
): Promise<{ host: AgentHost; base: Record<string, unknown>; password: string; file: string }> {
  const creds = await stack.login(device);
  const dataDir = join(stack.dir, device);
  const base = {
    device,
    dataDir,
    cloud: { mqtt: { url: stack.brokerUrl, ...creds }, publicKey: stack.cloud.publicKey },
    sync: { linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 1000 },
    clock: { synced: "always" },
    http: { port: 0 },
  };
  const file = join(stack.dir, `${device}.yaml`);
  writeFileSync(file, stringify(base));
  const key = loadOrCreateKey(join(dataDir, "device.key"));
  await registerDevice(stack.cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
  const ring = new LogRing();
  const { host } = gatewayHost(chooseStartupConfig(file, silentLogger), {
    log: pino({ level: "info" }, ring),
    ring,
    onFatal: (e) => {
      throw e;
    },
  });
  await host.start();
  await waitFor(() => host.agent.link.stats.subscribed, "gateway subscribed", { timeoutMs: 30_000 });
  return { host, base, password: creds.password ?? "", file };
}
