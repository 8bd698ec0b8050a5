import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { type CloudHandle, startCloud } from "../../cloud/service.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { readOutboxStatus } from "../../sync/outbox/read-status.ts";
import { type AgentProcess, spawnAgent } from "../helpers/agent-process.ts";
import { type MosquittoHandle, mosquittoBinaryAvailable, startMosquitto } from "../helpers/mosquitto.ts";
import { tmpDir } from "../helpers/services.ts";
import { TEST_TOKEN } from "../helpers/stack.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { waitFor } from "../helpers/wait-for.ts";

const KILLS = 22;
const NEVER_EVICT = (stream: string) => !stream.startsWith("load.") || stream === "load.events";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (a: number, b: number) => a + Math.floor(Math.random() * (b - a));

/**
 * The chaos suite: a real agent process under a fast load, SIGKILLed at random moments,
 * Mosquitto and the cloud restarted, the link cut by a proxy until the quota fills. Afterwards the
 * HTTP API must show, for every stream, exactly what the outbox appended: nothing lost, nothing
 * twice, gaps only where the agent recorded an eviction, and never an evicted alarm or evidence.
 */
const available = await mosquittoBinaryAvailable();

describe.runIf(available)("chaos: SIGKILL, broker and cloud restarts, link cuts, a full quota", () => {
  const dir = tmpDir("barnlink-chaos-");
  const device = "chaos-barn";
  const dataDir = join(dir, "agent");
  const log = join(dir, "agent.log");
  let broker: MosquittoHandle;
  let proxy: TcpProxy;
  let cloud: CloudHandle;
  let agent: AgentProcess | undefined;
  const cloudConfig = () =>
    cloudConfigSchema.parse({
      instance: "chaos-cloud",
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url },
      http: { port: 0 },
      keyFile: join(dir, "cloud.key"),
      tokens: [{ name: "admin", role: "admin", token: TEST_TOKEN }],
    });
  const writeAgentConfig = (file: string, sources: boolean) =>
    writeFileSync(
      file,
      JSON.stringify({
        device,
        dataDir,
        cloud: { mqtt: { url: proxy.url }, publicKey: cloud.publicKey },
        sync: { linger: "20ms", ackTimeout: "2s", reconnectBase: "100ms", reconnectCap: "1s", window: 8 },
        outbox: { quota: "120KiB", minFreeDisk: 0 },
        http: { enabled: false },
        clock: { synced: "always" },
        sources: sources
          ? [{ driver: "sim-load", name: "load", streams: 4, tick: "20ms", eventEvery: 10, alarmEvery: 25 }]
          : [],
      }),
    );

  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await startTcpProxy("127.0.0.1", broker.port);
    cloud = await startCloud(cloudConfig());
    const key = loadOrCreateKey(join(dataDir, "device.key"));
    await registerDevice(cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
  });
  afterAll(async () => {
    await agent?.kill();
    await cloud?.stop();
    await proxy?.close();
    await broker?.stop();
  });

  async function api() {
    const r = await fetch(`${cloud.url}/api/v1/devices/${device}`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: read ad hoc
    return (await r.json()) as any;
  }

  /** Records the agent has evicted so far (0 before its outbox exists). */
  const evictedNow = () => {
    try {
      return readOutboxStatus(join(dataDir, "outbox.db")).streams.reduce((n, s) => n + s.evicted, 0);
    } catch {
      return 0;
    }
  };

  it(`loses nothing and duplicates nothing through ${KILLS} SIGKILLs, restarts and cuts`, async () => {
    const loaded = join(dir, "agent.json");
    writeAgentConfig(loaded, true);
    let restartsBroker = 0;
    let restartsCloud = 0;
    let cuts = 0;
    for (let i = 0; i < KILLS; i++) {
      agent = spawnAgent(loaded, log);
      // Some kills land during start-up (opening the outbox), most while appending and sending.
      await sleep(i % 4 === 0 ? rand(100, 1500) : rand(1500, 4000));
      if (i === 4 || i === 14) {
        const evictedBefore = evictedNow();
        proxy.cut();
        cuts++;
        // Cut until the quota has evicted (a condition, not a time: a busy machine produces slower).
        await waitFor(() => evictedNow() > evictedBefore, "an eviction while the link is cut", {
          timeoutMs: 120_000,
        });
        proxy.restore();
      }
      if (i === 7 || i === 17) {
        await broker.restart(rand(200, 1500));
        restartsBroker++;
      }
      if (i === 10 || i === 19) {
        await cloud.stop();
        await sleep(rand(200, 1500));
        cloud = await startCloud(cloudConfig());
        restartsCloud++;
      }
      expect(await agent.kill("SIGKILL")).toBe(null);
    }
    expect([restartsBroker, restartsCloud, cuts]).toEqual([2, 2, 2]);

    // Drain: the same outbox, no sources, until the cloud holds everything it appended.
    const drain = join(dir, "drain.json");
    writeAgentConfig(drain, false);
    agent = spawnAgent(drain, log);
    const local = readOutboxStatus(join(dataDir, "outbox.db"));
    await waitFor(
      async () => {
        const d = await api();
        return local.streams.every((s) => d.streams[s.stream]?.committedSeq === s.lastSeq) ? d : undefined;
      },
      "the cloud to commit every appended seq",
      { timeoutMs: 90_000 },
    );
    await waitFor(
      () => readOutboxStatus(join(dataDir, "outbox.db")).streams.every((s) => s.pending === 0),
      "acks",
    );
    const d = await api();
    const after = readOutboxStatus(join(dataDir, "outbox.db"));
    expect(after.streams.map((s) => [s.stream, s.lastSeq])).toEqual(
      local.streams.map((s) => [s.stream, s.lastSeq]),
    );
    let evictedTotal = 0;
    for (const s of after.streams) {
      const c = d.streams[s.stream];
      const evicted = c.evictions.reduce((n: number, g: { count: number }) => n + g.count, 0);
      expect(c, s.stream).toMatchObject({ committedSeq: s.lastSeq, chain: "ok", openGaps: [] });
      // No duplicate and no loss: every seq is stored once or inside a recorded eviction.
      expect(c.count + evicted, s.stream).toBe(s.lastSeq);
      // The agent's evicted ranges are exactly the cloud's gaps; a few of their records may have
      // been in flight when evicted and arrived anyway, so the cloud's count can be lower.
      const span = c.evictions.reduce(
        (n: number, g: { from: number; to: number }) => n + g.to - g.from + 1,
        0,
      );
      expect(span, s.stream).toBe(s.evicted);
      if (NEVER_EVICT(s.stream)) expect(c.evictions, s.stream).toEqual([]);
      evictedTotal += evicted;
    }
    expect(d.rejected).toBe(0);
    // The cuts filled the quota: eviction really happened, and alarms and events got through.
    expect(evictedTotal).toBeGreaterThan(0);
    expect(d.streams.alarms.committedSeq).toBeGreaterThan(0);
    expect(d.streams["load.events"].committedSeq).toBeGreaterThan(0);
  }, 300_000);
});
