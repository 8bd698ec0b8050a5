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
  /** Keep-alive in milliseconds (default 60 s). */
  keepalive?: number;
  log: Logger;
  /**
   * Device-affine routing (cloud/ingest/affinity.ts): an up-batch of a device this instance does not
   * own is released at once (PUBACK, nothing else) and counted in `stats.notOwner`; its owner takes it.
   */
  owns?: (device: string) => boolean;
  /** Called when a device publishes `online` on its state topic. */
  onOnline?: (device: string) => Promise<unknown>;
}

export interface SubscriberStats {
  reconnects: number;
  /** Up-batches released without ingest because another instance owns their device (affine routing). */
  notOwner: number;
}

/**
 * Feeds up-batches from the broker into the ingest pipeline and publishes each signed ack after its
 * commit. MQTT.js sends the PUBACK to the broker, and reads the next packet, only when
 * `handleMessage` calls `done`: so `done` is called as soon as the batch is queued while the
 * pipeline has room, and held while it is full (back-pressure: the broker keeps the rest, and the
 * gateways keep theirs in their outboxes). A PUBACK is therefore not a commit: if this process dies,
 * the batches it had queued are sent again by their gateways, which delete a record only on the
 * signed commit ack (docs/durability.md).
 *
 * A restart into a backlog (issue #19): the broker writes the session's queued PUBLISHes onto the
 * connection first (all of them, with Mosquitto's `max_inflight_messages 0`), and every reply it
 * owes us (SUBACK, the PUBACKs of our acks, PINGRESP) queues behind them, read only as fast as the
 * pipeline commits. MQTT.js's keep-alive counts only those replies as life, so after 1.5 × keepalive
 * (90 s) it dropped a link that was delivering hundreds of packets a second, and the SUBACK that
 * start-up awaited failed with "Connection closed", which ended the process. So: a PUBLISH from
 * the broker counts as life (`liveOnAnyPacket`: a QoS 1 one), and start-up never waits on a SUBACK of a kept
 * session (a failed one is logged and renewed on the next connect).
 */
export async function startSubscriber(
  pipeline: IngestPipeline,
  o: SubscriberOptions,
): Promise<{ client: MqttClient; stats: SubscriberStats; stop(): Promise<void> }> {
  const shared = o.sharedGroup !== undefined;
  // Shared and affine sessions expire an hour after their instance is gone (MQTT 5): an instance
  // removed for good must not leave a session queueing every device's batches on the broker (with
  // `max_queued_messages 0`, without bound); its devices are the others' by then.
  const v5 = shared || o.owns !== undefined;
  const client = mqtt.connect(o.url, {
    clientId: `barnlink-${o.instance}`,
    clean: false,
    protocolVersion: v5 ? 5 : 4,
    ...(v5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    reconnectPeriod: 2000,
    keepalive: Math.max(1, Math.round((o.keepalive ?? 60_000) / 1000)),
    queueQoSZero: false,
    username: o.username,
    password: o.password,
    ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
  });
  const stats: SubscriberStats = { reconnects: 0, notOwner: 0 };
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
    if (t?.channel === "up" && o.owns && !o.owns(t.device)) {
      // Not ours: safe to drop, the owner has the same message in its own session and the gateway
      // resends until a signed commit ack (affinity.ts says why this loses and duplicates nothing).
      // Released in a nextTick chain, but yielding to I/O every 64 (a backlog of others' batches
      // must not starve HTTP, as below).
      if (++stats.notOwner % 64 === 0) setImmediate(done);
      else done();
      return;
    }
    pipeline
      .push(topic, payload)
      .then((res) => {
        if (res.ack) client.publish(ackTopic(res.ack.device), JSON.stringify(res.ack), { qos: 1 });
      })
      .catch((e) => o.log.error({ err: (e as Error).message }, "ingest handler failed"));
    // `done` lets MQTT.js handle the next packet at once (a nextTick chain, its decode and
    // verification included), so it is deferred to setImmediate: HTTP and timers run between
    // packets instead of after up to `maxInFlight` of them.
    if (!pipeline.full) setImmediate(done);
    else void pipeline.whenNotFull().then(() => setImmediate(done));
  };
  client.on("reconnect", () => stats.reconnects++);
  client.on("error", (e) => o.log.warn({ err: e.message }, "mqtt error"));
  liveOnAnyPacket(client);
  const filter = shared ? `$share/${o.sharedGroup}/${UP_WILDCARD}` : UP_WILDCARD;
  // Not shared: every instance hears every device come online (a resend is harmless: commands run once).
  const filters = o.onOnline ? [filter, STATE_WILDCARD] : [filter];
  const subscribe = () =>
    Promise.all(filters.map((f) => client.subscribeAsync(f, { qos: 1 }))).then(() => {});
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(e);
    client.once("error", fail);
    client.once("connect", (connack) => {
      client.off("error", fail);
      // A session the broker kept already has the subscriptions, and its backlog streams in ahead of
      // the SUBACKs: do not wait for them (nor fail on them). A new session has no backlog: wait, so
      // nothing sent after this returns can miss the subscription.
      const renewed = subscribe();
      if (connack.sessionPresent) {
        renewed.catch((e) => o.log.warn({ err: (e as Error).message }, "resubscribe failed"));
        resolve();
      } else renewed.then(resolve, reject);
    });
  });
  // Each reconnect renews the subscriptions (a no-op when the broker kept the session).
  client.on("connect", () => {
    subscribe().catch((e) => o.log.warn({ err: (e as Error).message }, "resubscribe failed"));
  });
  o.log.info({ filter, url: o.url }, "ingest subscribed");
  return { client, stats, stop: () => endWithin(client, 5000) };
}

/**
 * Ends the connection once our QoS 1 publishes (acks, commands) are PUBACKed, or after `ms`: during a
 * backlog those PUBACKs queue behind it, and a plain `end()` waited for them, so a SIGTERM mid-drain
 * hung until the broker had delivered everything (forever, if the link was down). An ack not
 * PUBACKed is only resent by its gateway after its ack timeout and committed as a no-op.
 */
async function endWithin(client: MqttClient, ms: number): Promise<void> {
  if (Object.keys(client.outgoing).length > 0)
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      client.once("outgoingEmpty", () => {
        clearTimeout(t);
        resolve();
      });
    });
  // Forced only when some are still unanswered (a plain end would wait for them again).
  await client.endAsync(Object.keys(client.outgoing).length > 0);
}

/**
 * A QoS 1 PUBLISH from the broker proves the link alive, not only the replies MQTT.js counts
 * (PINGRESP, PUBACK, SUBACK), which a backlog queues behind itself; each one is answered by our
 * PUBACK, so the broker's side of the keep-alive sees traffic too (a QoS 0 one is not answered, so
 * it does not count: MQTT.js must still send its PINGREQ). A dead link still times out: nothing
 * arrives, and 1.5 × keepalive after the last packet MQTT.js gives up as before. Rescheduled at
 * most every quarter keep-alive (it re-arms a timer), capped at a second.
 */
export function liveOnAnyPacket(client: MqttClient): void {
  const every = Math.min(1000, client.options.keepalive! * 250);
  let last = 0;
  client.on("packetreceive", (p) => {
    if (p.cmd !== "publish" || p.qos === 0) return;
    const now = Date.now();
    if (now - last < every) return;
    last = now;
    client.reschedulePing(true);
  });
}
