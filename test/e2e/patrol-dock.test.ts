import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../agent/agent.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { type Stack, startStack, uniqueDevice } from "../helpers/stack.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("patrol robot: records wait out of Wi-Fi and upload as soon as it docks", () => {
  let stack: Stack;
  let proxy: TcpProxy;
  let agent: Agent | undefined;
  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite" });
    const u = new URL(stack.mqttUrl);
    proxy = await startTcpProxy(u.hostname, Number(u.port));
  });
  afterAll(async () => {
    await agent?.stop();
    await proxy?.close();
    await stack?.stop();
  });

  it("reconnects on the dock contact instead of waiting out a long backoff", async () => {
    const device = uniqueDevice("robot");
    const config = agentConfigSchema().parse({
      device,
      dataDir: join(stack.dir, device),
      cloud: { mqtt: { url: proxy.url, ...(await stack.login(device)) }, publicKey: stack.cloud.publicKey },
      // A backoff far longer than the test: only the dock can bring the link back in time.
      sync: { linger: 20, ackTimeout: 3000, reconnectBase: "10m", reconnectCap: "10m", reconnectOn: "dock" },
      clock: { synced: "always" },
    });
    agent = new Agent(config);
    await agent.start();
    await registerDevice(stack.cloud.ctx.db, device, agent.key.publicKeyB64, null, Date.now());
    await waitFor(() => agent!.link.stats.connected, "connected");

    // Out of Wi-Fi: the link drops and the backoff starts (up to 10 minutes).
    proxy.cut();
    await waitFor(() => !agent!.link.stats.connected, "disconnected");
    const reconnects = agent.link.stats.reconnects;
    agent.emit([
      { stream: "dock", kind: "event", body: { input: "dock", state: false } },
      {
        stream: "patrol.checkpoints",
        kind: "checkpoint",
        body: { checkpoint: "hot-aisle-3", ok: false, values: { temperature: 48 }, findings: ["48 °C"] },
      },
      {
        stream: "patrol.checkpoints",
        kind: "checkpoint",
        body: { checkpoint: "ups-room", ok: true, values: { temperature: 25 } },
      },
    ]);
    // An undocked event does not reconnect (reconnectNow would have counted one, synchronously).
    expect(agent.link.stats.reconnects).toBe(reconnects);
    expect(agent.link.stats.connected).toBe(false);
    expect(agent.outbox.status().find((s) => s.stream === "patrol.checkpoints")?.pending).toBe(2);

    // Docked: Wi-Fi is back and the dock contact closes.
    proxy.restore();
    const t0 = Date.now();
    agent.emit([{ stream: "dock", kind: "event", body: { input: "dock", state: true } }]);
    await waitFor(() => agent!.outbox.status().every((s) => s.pending === 0), "patrol records uploaded");
    expect(Date.now() - t0).toBeLessThan(15_000);
    const r = await fetch(`${stack.cloud.url}/api/v1/devices/${device}`, {
      headers: { authorization: "Bearer test-admin-token-0123456789" },
    });
    const body = (await r.json()) as { streams: Record<string, { committedSeq: number; chain: string }> };
    expect(body.streams["patrol.checkpoints"]).toMatchObject({ committedSeq: 2, chain: "ok" });
    expect(body.streams.dock).toMatchObject({ committedSeq: 2, chain: "ok" });
  });
});
