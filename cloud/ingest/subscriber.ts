import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../../core/log.ts";
import { ackTopic, deviceOfTopic, STATE_WILDCARD, UP_WILDCARD } from "../../sync/topics.ts";
import type { IngestPipeline } from "./pipeline.ts";

export interface SubscriberOptions {
  url: string;
  instance: string;
  username?: string;
  password?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  sharedGroup?: string;
  log: Logger;
  /** Called when a device publishes `online` on its state topic. */
  onOnline?: (device: string) => Promise<unknown>;
}

/**
 * Feeds up-batches from the broker into the ingest pipeline and publishes each signed ack after its
 * commit. MQTT.js sends the PUBACK to the broker, and reads the next packet, only when
 * `handleMessage` calls `done`: so `done` is called as soon as the batch is queued while the
 * pipeline has room, and held while it is full (back-pressure: the broker keeps the rest, and the
 * gateways keep theirs in their outboxes). A PUBACK is therefore not a commit: if this process dies,
 * the batches it had queued are sent again by their gateways, which delete a record only on the
 * signed commit ack (docs/durability.md). Keeping the packet stream moving also keeps PINGRESPs
 * flowing, so a backlog never trips the keepalive.
 */
export async function startSubscriber(
  pipeline: IngestPipeline,
  o: SubscriberOptions,
): Promise<{ client: MqttClient; stats: { reconnects: number }; stop(): Promise<void> }> {
  const shared = o.sharedGroup !== undefined;
  const client = mqtt.connect(o.url, {
    clientId: `barnlink-${o.instance}`,
    clean: false,
    protocolVersion: shared ? 5 : 4,
    ...(shared ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    reconnectPeriod: 2000,
    queueQoSZero: false,
    username: o.username,
    password: o.password,
    ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
  });
  client.handleMessage = (packet, done) => {
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const t = deviceOfTopic(topic);
    if (t?.channel === "state") {
      // A device's retained online/offline state: an online device gets its unconfirmed commands again.
      let online = false;
      try {
        online = (JSON.parse(payload.toString("utf8")) as { state?: unknown }).state === "online";
      } catch {}
      // Released at once: the hook publishes, and its PUBACKs arrive on the stream this handler holds.
      done();
      if (online) {
        Promise.resolve(o.onOnline?.(t.device)).catch((e) =>
          o.log.warn({ err: (e as Error).message }, "online hook failed"),
        );
      }
      return;
    }
    pipeline
      .push(topic, payload)
      .then((res) => {
        if (res.ack) client.publish(ackTopic(res.ack.device), JSON.stringify(res.ack), { qos: 1 });
      })
      .catch((e) => o.log.error({ err: (e as Error).message }, "ingest handler failed"));
    if (!pipeline.full) done();
    else void pipeline.whenNotFull().then(() => done());
  };
  const stats = { reconnects: 0 };
  client.on("reconnect", () => stats.reconnects++);
  client.on("error", (e) => o.log.warn({ err: e.message }, "mqtt error"));
  const filter = shared ? `$share/${o.sharedGroup}/${UP_WILDCARD}` : UP_WILDCARD;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    client.once("error", fail);
    client.once("connect", (connack) => {
      client.off("error", fail);
      // A session the broker kept already has the subscription, and its backlog streams in ahead of
      // the SUBACK: do not wait for it. A new session has no backlog: wait, so nothing sent after
      // this returns can miss the subscription.
      const resubscribe = client.subscribeAsync(filter, { qos: 1 });
      if (connack.sessionPresent) {
        resubscribe.catch((e) => o.log.warn({ err: (e as Error).message }, "resubscribe failed"));
        resolve();
      } else resubscribe.then(() => resolve(), reject);
    });
  });
  // Each reconnect renews the subscription (a no-op when the broker kept the session).
  client.on("connect", () => client.subscribe(filter, { qos: 1 }));
  // Not shared: every instance hears every device come online (a resend is harmless: commands run once).
  if (o.onOnline) await client.subscribeAsync(STATE_WILDCARD, { qos: 1 });
  o.log.info({ filter, url: o.url }, "ingest subscribed");
  return { client, stats, stop: () => client.endAsync() };
}
