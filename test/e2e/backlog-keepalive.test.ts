import { join } from "node:path";
import { sql } from "kysely";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { startBroker } from "../../cloud/broker/broker.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { type CloudHandle, startCloud } from "../../cloud/service.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { encodeBatch } from "../../sync/codec.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { freePort, mosquittoBinaryAvailable, startMosquitto } from "../helpers/mosquitto.ts";
import { tmpDir } from "../helpers/services.ts";
import { waitFor } from "../helpers/wait-for.ts";

const DEVICES = 20;
const BATCHES = 6_000;
/** Whole seconds (MQTT's unit); the drain of BATCHES takes many times 1.5 × this. */
const KEEPALIVE_S = 1;

interface Broker {
  url: string;
  stop(): Promise<void>;
}

const mosquittoUp = await mosquittoBinaryAvailable();

const brokers: Array<{ name: string; have: boolean; start(): Promise<Broker> }> = [
  {
    // As docs/scaling.md configures it for the cloud: no queue limit, no in-flight limit, so the
    // whole backlog is written ahead of every reply the broker owes the cloud.
    name: "Mosquitto",
    have: mosquittoUp,
    start: () => startMosquitto(["max_queued_messages 0", "max_inflight_messages 0"]),
  },
  {
    name: "the embedded broker (aedes)",
    have: true,
    start: async () => {
      const b = await startBroker({ port: 0 });
      return { url: b.url, stop: b.close };
    },
  },
];

/**
 * Issue #19: a cloud restarted into a backlog longer than 1.5 × its keep-alive to drain exited (90 s
 * into a 100,000-batch drain at the default 60 s): the broker's replies (SUBACK, PINGRESP, the
 * PUBACKs of our acks) queue behind the backlog, MQTT.js counted only those as life, dropped the
 * link, and the SUBACK start-up awaited failed with "Connection closed". A 1 s keep-alive makes the
 * same backlog-longer-than-keep-alive with a few thousand batches. What must hold, by condition:
 * start-up completes, /healthz answers throughout, the link never drops, every batch is committed
 * exactly once.
 */
describe.each(brokers)("restart into a backlog longer than the keep-alive on $name", async (b) => {
  const dir = tmpDir();
  let broker: Broker | undefined;
  const clouds: CloudHandle[] = [];
  afterAll(async () => {
    for (const c of clouds) await c.stop().catch(() => {});
    await broker?.stop();
  });

  it.runIf(b.have)("starts, answers and drains on one connection", async () => {
    broker = await b.start();
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: `ka-${i}`, key: generateKeyPair() }));
    const cfg = cloudConfigSchema.parse({
      instance: "keepalive-1",
      database: { url: join(dir, `cloud-${b.name.length}.db`) },
      mqtt: { url: broker.url, keepalive: `${KEEPALIVE_S}s` },
      http: { port: await freePort() },
      keyFile: join(dir, "cloud.key"),
      devices: devices.map((d) => ({ id: d.id, publicKey: d.key.publicKeyB64 })),
    });
    // The first start makes the persistent session; then the cloud is down while the fleet sends.
    clouds.push(await startCloud(cfg));
    await clouds.pop()!.stop();
    const pub = await mqtt.connectAsync(broker.url, { clientId: "keepalive-fleet", clean: true });
    const writers = devices.map((d) => new StreamWriter(d.id, "env.t", d.key));
    const window = new Set<Promise<unknown>>();
    for (let n = 0; n < BATCHES; n++) {
      const i = n % DEVICES;
      const seg = writers[i]!.next([
        {
          t: { wall: 1_760_000_000_000 + n, boot: "k", mono: n, synced: true },
          kind: "reading",
          body: { value: n % 100, unit: "degC" },
        },
      ]);
      const p = pub.publishAsync(upTopic(devices[i]!.id), encodeBatch(batchOf(devices[i]!.id, [seg])), {
        qos: 1,
      });
      window.add(p);
      void p.finally(() => window.delete(p));
      if (window.size >= 1000) await Promise.race(window);
    }
    await Promise.all(window);
    await pub.endAsync();

    // /healthz polled throughout: every poll must answer, with the link up.
    const health = `http://127.0.0.1:${cfg.http.port}/healthz`;
    const polls = { ok: 0, failed: [] as string[], maxBatches: 0 };
    let polling = true;
    const poller = (async () => {
      await waitFor(
        () =>
          fetch(health).then(
            (r) => r.ok,
            () => false,
          ),
        "API listening",
      );
      while (polling) {
        try {
          const h = (await fetch(health).then((r) => r.json())) as {
            mqtt: boolean;
            ingest: { batches: number };
          };
          polls.ok++;
          polls.maxBatches = Math.max(polls.maxBatches, h.ingest.batches);
          if (!h.mqtt) polls.failed.push(`mqtt down at ${h.ingest.batches} batches`);
        } catch (e) {
          polls.failed.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let cloud: CloudHandle;
    try {
      cloud = await startCloud(cfg);
      clouds.push(cloud);
      // A keep-alive timeout mid-drain shows as a reconnect (the redelivery is then drained too).
      await waitFor(() => cloud.ingest.counters.batches >= BATCHES, "backlog drained", {
        timeoutMs: 600_000,
      });
    } finally {
      polling = false;
      await poller;
    }
    expect(cloud.mqtt()).toEqual({ connected: true, reconnects: 0 });
    expect(polls.failed).toEqual([]);
    expect(polls.ok).toBeGreaterThan(0);
    expect(cloud.ingest.counters.batches).toBe(BATCHES);
    expect(cloud.ingest.counters.records).toBe(BATCHES);
    expect(cloud.ingest.counters.rejected).toBe(0);
    const stored = await sql<{ n: number }>`SELECT count(*) AS n FROM records`.execute(cloud.ctx.db.kysely);
    expect(Number(stored.rows[0]!.n)).toBe(BATCHES);
  });
});
