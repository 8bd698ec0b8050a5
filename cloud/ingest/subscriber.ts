import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../../core/log.ts";
import { ackTopic, deviceOfTopic, STATE_WILDCARD, UP_WILDCARD } from "../../sync/topics.ts";
import type { Ingest } from "./ingest.ts";

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
 * Feeds up-batches from the broker into the ingest, one at a time per connection, and publishes the
 * signed ack after commit. The PUBACK to the broker is sent only once the batch is handled
 * (MQTT.js handleMessage), so the broker holds back what the database has not taken yet.
 */
export async function startSubscriber(
  ingest: Ingest,
  o: SubscriberOptions,
): Promise<{ client: MqttClient; stop(): Promise<void> }> {
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
    ingest
      .handle(topic, payload)
      .then((res) => {
        // Not awaited: the PUBACK for this publish arrives on the same stream that handleMessage
        // holds until done(), so waiting here would deadlock.
        if (res.ack) client.publish(ackTopic(res.ack.device), JSON.stringify(res.ack), { qos: 1 });
      })
      .catch((e) => o.log.error({ err: (e as Error).message }, "ingest handler failed"))
      .finally(() => done());
  };
  client.on("error", (e) => o.log.warn({ err: e.message }, "mqtt error"));
  const filter = shared ? `$share/${o.sharedGroup}/${UP_WILDCARD}` : UP_WILDCARD;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    client.once("error", fail);
    client.once("connect", () => {
      client.off("error", fail);
      client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
  });
  client.on("connect", () => client.subscribe(filter, { qos: 1 }));
  // Not shared: every instance hears every device come online (a resend is harmless: commands run once).
  if (o.onOnline) await client.subscribeAsync(STATE_WILDCARD, { qos: 1 });
  o.log.info({ filter, url: o.url }, "ingest subscribed");
  return { client, stop: () => client.endAsync() };
}
