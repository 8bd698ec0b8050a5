import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../agent/agent.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("commands reach devices that were away, and run once", () => {
  let stack: Stack;
  const agents: Agent[] = [];
  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite" });
  });
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    await stack?.stop();
  });

  const commandRecords = async (device: string) => {
    const r = await fetch(`${stack.cloud.url}/api/v1/devices/${device}/records?stream=commands`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    return (
      ((await r.json()) as { records?: Array<{ body: { input: string; state: string } }> }).records ?? []
    );
  };

  it("delivers a command sent before the device ever connected, closes it on the device's evidence, never runs it twice", async () => {
    const device = uniqueDevice("late");
    const config = agentConfigSchema().parse({
      device,
      dataDir: join(stack.dir, device),
      cloud: {
        mqtt: { url: stack.brokerUrl, ...(await stack.login(device)) },
        publicKey: stack.cloud.publicKey,
      },
      sync: { linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 1000 },
      clock: { synced: "always" },
    });
    const key = loadOrCreateKey(join(config.dataDir, "device.key"));
    await registerDevice(stack.cloud.ctx.db, device, key.publicKeyB64, null, Date.now());

    // The device has never connected: the broker holds nothing for it.
    await stack.cloud.ctx.sendCommand(device, "seal.now", {});
    const row = () =>
      stack.cloud.ctx.db.kysely
        .selectFrom("device_commands")
        .selectAll()
        .where("device", "=", device)
        .executeTakeFirstOrThrow();
    expect((await row()).done_at).toBeNull();

    const a1 = new Agent(config);
    agents.push(a1);
    await a1.start();
    await waitFor(async () => (await row()).done_at !== null, "command confirmed by the device's evidence");
    expect((await row()).outcome).toBe("applied");
    // Published once into the void, once more when the device came online.
    const sendsBefore = Number((await row()).sends);
    expect(sendsBefore).toBe(2);
    await waitFor(async () => (await commandRecords(device)).length === 1, "one commands record");

    // Restarting the device (online again) neither re-sends a closed command nor runs it again.
    await a1.stop();
    const a2 = new Agent(config);
    agents.push(a2);
    await a2.start();
    await waitFor(() => a2.link.stats.connected, "reconnected");
    a2.emit([{ stream: "door.main", kind: "event", body: { input: "door", state: true } }]);
    await waitFor(() => a2.outbox.status().every((s) => s.pending === 0), "drained");
    expect(await commandRecords(device)).toHaveLength(1);
    expect(Number((await row()).sends)).toBe(sendsBefore);
  });
});
