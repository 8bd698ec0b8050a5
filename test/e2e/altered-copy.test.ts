import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { Agent } from "../../agent/agent.ts";
import { agentConfigSchema } from "../../agent/config.ts";
import { startBroker } from "../../cloud/broker/broker.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { Ingest } from "../../cloud/ingest/ingest.ts";
import { generateKeyPair, loadOrCreateKey } from "../../core/keys.ts";
import { decodeBatch, encodeBatch } from "../../sync/codec.ts";
import { ackTopic, upTopic } from "../../sync/topics.ts";
import { freshDb, tmpDir } from "../helpers/services.ts";
import { uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Issue #13: "a byte flip in a record body makes the cloud send the genuine device a signed
 * `rejected` ack, so anyone who can publish can make a device log errors". Here the genuine batch is
 * in flight when the cloud's signed answer to an altered copy reaches the device: the device must
 * not act on it (before: it logged an error, counted a rejection and rewound the batch).
 */
describe("a rejection provoked with an altered copy of a genuine batch", () => {
  const stops: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  });

  it("is ignored by the device, which then commits its own batch", async () => {
    const broker = await startBroker({ port: 0 });
    stops.push(() => broker.close());
    const fresh = await freshDb("sqlite");
    stops.push(() => fresh.drop());
    const cloudKey = generateKeyPair();
    const ingest = new Ingest(fresh.db, cloudKey);
    const device = uniqueDevice("flip");
    const dir = tmpDir();
    const config = agentConfigSchema().parse({
      device,
      dataDir: join(dir, device),
      cloud: { mqtt: { url: broker.url }, publicKey: cloudKey.publicKeyB64 },
      sync: { linger: 20, ackTimeout: 600_000, reconnectBase: 100, reconnectCap: 1000 },
      clock: { synced: "always" },
    });
    const key = loadOrCreateKey(join(config.dataDir, "device.key"));
    await registerDevice(fresh.db, device, key.publicKeyB64, null, Date.now());
    // The test plays the cloud's subscriber by hand, so the genuine batch stays in flight.
    const cloud = await mqtt.connectAsync(broker.url, { clientId: `cloud-${device}` });
    stops.push(() => cloud.endAsync());
    const frames: Buffer[] = [];
    cloud.on("message", (_t, p) => frames.push(Buffer.from(p)));
    await cloud.subscribeAsync(upTopic(device), { qos: 1 });
    const agent = new Agent(config);
    stops.push(() => agent.stop());
    await agent.start();
    agent.emit(
      Array.from({ length: 5 }, (_, i) => ({
        stream: "env.temperature",
        kind: "reading",
        body: { value: 20 + i, unit: "degC" },
      })),
    );
    await waitFor(() => frames.length > 0, "the genuine batch");
    const genuine = frames[0]!;

    // The attacker's copy: one record body changed, the device's signed head kept.
    const b = decodeBatch(genuine);
    const seg = b.segments[0]!;
    if (seg.type !== "records") throw new Error("records expected");
    const altered = encodeBatch({
      ...b,
      segments: [
        {
          ...seg,
          records: seg.records.map((r, i) => (i === 0 ? { ...r, body: { value: 99, unit: "degC" } } : r)),
        },
      ],
    } as never);
    const refused = await ingest.handle(upTopic(device), altered);
    expect(refused.rejected?.code).toBe("BL_CHAIN_BROKEN");
    await cloud.publishAsync(ackTopic(device), JSON.stringify(refused.ack), { qos: 1 });
    // Then the genuine batch, as the real subscriber would: committed.
    const ok = await ingest.handle(upTopic(device), genuine);
    expect(ok.ack?.status).toBe("committed");
    await cloud.publishAsync(ackTopic(device), JSON.stringify(ok.ack), { qos: 1 });
    await waitFor(() => agent.link.stats.batchesAcked > 0, "the genuine batch acknowledged");
    // Same publisher, same topic, QoS 1: the rejection was delivered first [MQTT-4.6.0-6].
    expect(agent.link.stats.batchesRejected).toBe(0);
    expect(agent.outbox.status().find((s) => s.stream === "env.temperature")).toMatchObject({
      ackedSeq: 5,
      pending: 0,
    });
  });
});
