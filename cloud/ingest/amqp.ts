import { readFileSync } from "node:fs";
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import type { Logger } from "../../core/log.ts";
import { ackTopic, deviceOfTopic } from "../../sync/topics.ts";
import type { IngestPipeline } from "./pipeline.ts";

/** The exchange RabbitMQ's MQTT plugin publishes to and delivers from (`mqtt.exchange`). */
export const MQTT_EXCHANGE = "amq.topic";
export const UP_BINDING = "barnlink.v1.*.up";
export const STATE_BINDING = "barnlink.v1.*.state";

/**
 * RabbitMQ's MQTT plugin (3.10) maps MQTT topics to routing keys by turning '/' into '.', and
 * routing keys back into topics by turning every '.' into '/'. A device id with a '.' therefore
 * cannot be addressed on this transport (its up topic has an extra word and misses the binding, and
 * its acks would arrive on another topic): use ids without '.' with RabbitMQ (docs/scaling.md).
 */
export const routingKeyOf = (topic: string) => topic.replaceAll("/", ".");
export const topicOf = (routingKey: string) => routingKey.replaceAll(".", "/");

export interface AmqpIngestOptions {
  /** The cluster's nodes: tried in turn, the next one after a connection drops. */
  urls: string[];
  /** The durable quorum queue every instance consumes from (competing consumers). */
  queue: string;
  /** Deliveries unacknowledged at once (the pipeline's maxInFlight). */
  prefetch: number;
  instance: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  log: Logger;
  /** Called when a device publishes `online` on its state topic. */
  onOnline?: (device: string) => Promise<unknown>;
  /** Delay before the next node is tried (ms). */
  reconnectMs?: number;
}

export interface AmqpIngest {
  connected(): boolean;
  stats: { reconnects: number };
  /** Publishes to an MQTT topic (acks, commands) through amq.topic; resolves on the broker's confirm. */
  publish(topic: string, payload: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Ingest from a RabbitMQ cluster: gateways publish MQTT to any node (the plugin routes it to
 * amq.topic), and every cloud instance consumes one durable quorum queue bound to the up topics,
 * as competing consumers. A delivery is acknowledged only after its batch's group committed and its
 * signed ack was confirmed by the broker, so the deliveries of an instance that dies, or whose node
 * dies, go back to the queue and to another consumer; the store de-duplicates what had committed.
 * The prefetch is the pipeline's bound (back-pressure: the queue holds the rest).
 */
export async function startAmqpIngest(pipeline: IngestPipeline, o: AmqpIngestOptions): Promise<AmqpIngest> {
  const stats = { reconnects: 0 };
  const tls = {
    ...(o.caFile ? { ca: [readFileSync(o.caFile)] } : {}),
    ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
    ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
  };
  let conn: ChannelModel | undefined;
  let ch: ConfirmChannel | undefined;
  let consumerTag: string | undefined;
  let next = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ready: () => void = () => {};

  const publishOn = (c: ConfirmChannel, topic: string, payload: string | Buffer) =>
    new Promise<void>((resolve, reject) => {
      c.publish(
        MQTT_EXCHANGE,
        routingKeyOf(topic),
        Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
        // QoS 1 to the device's MQTT subscription, persistent in its (mirrored) session queue.
        { persistent: true, headers: { "x-mqtt-publish-qos": 1 } },
        (err: unknown) => (err ? reject(err) : resolve()),
      );
    });

  const onUp = (c: ConfirmChannel, msg: ConsumeMessage) => {
    pipeline
      .push(topicOf(msg.fields.routingKey), msg.content)
      .then(async (res) => {
        if (res.ack) await publishOn(c, ackTopic(res.ack.device), JSON.stringify(res.ack));
        c.ack(msg);
      })
      .catch((e) => {
        // Not acknowledged: the delivery goes back to the queue (now, or when this channel closes).
        o.log.warn({ err: (e as Error).message }, "ingest delivery not acknowledged");
        setTimeout(() => {
          try {
            c.nack(msg, false, true);
          } catch {}
        }, 1000).unref();
      });
  };

  const onState = (msg: ConsumeMessage) => {
    const t = deviceOfTopic(topicOf(msg.fields.routingKey));
    let online = false;
    try {
      online = (JSON.parse(msg.content.toString("utf8")) as { state?: unknown }).state === "online";
    } catch {}
    if (t && online)
      Promise.resolve(o.onOnline?.(t.device)).catch((e) =>
        o.log.warn({ err: (e as Error).message }, "online hook failed"),
      );
  };

  const connectOnce = async (): Promise<void> => {
    const url = o.urls[next % o.urls.length]!;
    next++;
    const c = await amqp.connect(url, {
      ...tls,
      clientProperties: { connection_name: `barnlink-${o.instance}` },
    });
    c.on("error", (e: Error) => o.log.warn({ err: e.message, url }, "amqp error"));
    c.on("close", () => {
      if (conn !== c) return;
      conn = undefined;
      ch = undefined;
      if (stopped) return;
      o.log.warn({ url }, "amqp connection lost; trying the next node");
      stats.reconnects++;
      schedule(0);
    });
    try {
      const channel = await c.createConfirmChannel();
      channel.on("error", (e: Error) => o.log.warn({ err: e.message }, "amqp channel error"));
      // A channel closed by the broker (e.g. the queue's leader moved and the consumer was
      // cancelled) takes the connection with it, so one path reconnects.
      channel.on("close", () => void c.close().catch(() => {}));
      channel.on("cancel", () => void c.close().catch(() => {}));
      await channel.assertQueue(o.queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
      await channel.bindQueue(o.queue, MQTT_EXCHANGE, UP_BINDING);
      await channel.prefetch(o.prefetch);
      if (o.onOnline) {
        // Every instance hears every device come online (a resend is harmless: commands run once).
        const q = await channel.assertQueue("", { exclusive: true, autoDelete: true });
        await channel.bindQueue(q.queue, MQTT_EXCHANGE, STATE_BINDING);
        await channel.consume(q.queue, (m) => m && onState(m), { noAck: true });
      }
      const consumer = await channel.consume(o.queue, (m) => m && onUp(channel, m), { noAck: false });
      conn = c;
      ch = channel;
      consumerTag = consumer.consumerTag;
      o.log.info({ url, queue: o.queue }, "ingest consuming");
      ready();
    } catch (e) {
      await c.close().catch(() => {});
      throw e;
    }
  };

  const schedule = (delay: number) => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connectOnce().catch((e) => {
        o.log.warn({ err: (e as Error).message }, "amqp connect failed");
        schedule(o.reconnectMs ?? 1000);
      });
    }, delay);
  };

  // The first connection: try every node before giving up on start.
  const first = new Promise<void>((r) => {
    ready = r;
  });
  schedule(0);
  await first;

  return {
    connected: () => ch !== undefined,
    stats,
    async publish(topic, payload) {
      // Commands are stored before they are published (commands.ts): one that finds no node
      // reachable is published again when its device next comes online.
      if (!ch) {
        o.log.warn({ topic }, "no broker connection: not published now");
        return;
      }
      await publishOn(ch, topic, payload);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // Stop taking deliveries, answer what was taken, then close (nothing is left to redeliver).
      if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => {});
      await pipeline.drain();
      const c = conn;
      conn = undefined;
      ch = undefined;
      await c?.close().catch(() => {});
    },
  };
}
