import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { type CloudHandle, startCloud } from "../../cloud/service.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { encodeBatch } from "../../sync/codec.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { freePort, mosquittoBinaryAvailable, startMosquitto } from "../helpers/mosquitto.ts";
import { tmpDir } from "../helpers/services.ts";
import { TEST_TOKEN } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

const DEVICES = 20;
const BATCHES = 2_000;

/**
 * A cloud restarted into a broker backlog (its persistent session holds thousands of up-batches
 * queued while it was down) serves its API at once and drains the backlog on one connection: no
 * keepalive timeout, no reconnect, every batch committed once. Before, the API opened only after
 * the subscriber's SUBACK, which queued behind the backlog, and the keepalive expired meanwhile.
 */
describe("restart into a broker backlog", async () => {
  const have = await mosquittoBinaryAvailable();
  const dir = tmpDir();
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  const clouds: CloudHandle[] = [];
  afterAll(async () => {
    for (const c of clouds) await c.stop().catch(() => {});
    await broker?.stop();
  });

  it.runIf(have)(
    "serves its API while the backlog drains, and drains it without reconnecting",
    async () => {
      broker = await startMosquitto(["max_queued_messages 0", "max_inflight_messages 0"]);
      const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: `bk-${i}`, key: generateKeyPair() }));
      const cfg = cloudConfigSchema.parse({
        instance: "backlog-1",
        database: { url: join(dir, "cloud.db") },
        mqtt: { url: broker.url },
        http: { port: await freePort() },
        keyFile: join(dir, "cloud.key"),
        tokens: [{ name: "admin", role: "admin", token: TEST_TOKEN }],
        devices: devices.map((d) => ({ id: d.id, publicKey: d.key.publicKeyB64 })),
      });
      // First start makes the persistent session; then the cloud is down while the fleet sends.
      clouds.push(await startCloud(cfg));
      await clouds.pop()!.stop();
      const pub = await mqtt.connectAsync(broker.url, { clientId: "backlog-fleet", clean: true });
      const writers = devices.map((d) => new StreamWriter(d.id, "env.t", d.key));
      const sends: Array<Promise<unknown>> = [];
      for (let b = 0; b < BATCHES; b++) {
        const i = b % DEVICES;
        const w = writers[i]!;
        const seg = w.next(
          Array.from({ length: 5 }, (_, j) => ({
            t: { wall: 1_760_000_000_000 + b * 10 + j, boot: "b", mono: b * 10 + j, synced: true },
            kind: "reading",
            body: { value: j, unit: "degC" },
          })),
        );
        sends.push(
          pub.publishAsync(upTopic(devices[i]!.id), encodeBatch(batchOf(devices[i]!.id, [seg])), { qos: 1 }),
        );
      }
      await Promise.all(sends);
      await pub.endAsync();

      const starting = startCloud(cfg);
      // The API answers while the backlog drains (before, it opened only once all of it was stored).
      const first = await waitFor(
        () =>
          fetch(`http://127.0.0.1:${cfg.http.port}/healthz`).then(
            (r) => r.json() as Promise<{ ingest: { batches: number } }>,
            () => undefined,
          ),
        "API listening",
      );
      expect(first.ingest.batches).toBeLessThan(BATCHES);
      const cloud = await starting;
      clouds.push(cloud);
      const metrics = await fetch(`${cloud.url}/metrics`);
      expect(await metrics.text()).toMatch(/barnlink_ingest_queue_depth \d+/);
      await waitFor(() => cloud.ingest.counters.batches >= BATCHES, "backlog drained", {
        timeoutMs: 240_000,
      });
      expect(cloud.ingest.counters.records).toBe(BATCHES * 5);
      expect(cloud.ingest.counters.rejected).toBe(0);
      expect(cloud.mqtt()).toEqual({ connected: true, reconnects: 0 });
      const r = await fetch(`${cloud.url}/api/v1/devices/bk-0`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      const d = (await r.json()) as { streams: Record<string, { committedSeq: number }> };
      expect(d.streams["env.t"]?.committedSeq).toBe((BATCHES / DEVICES) * 5);
    },
    300_000,
  );
});
