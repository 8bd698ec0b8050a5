import mqtt, { type IClientOptions, type MqttClient, UniqueMessageIdProvider } from "mqtt";
import { stateTopic } from "./topics.ts";

/** The connection options a gateway's config may set (credentials, TLS, keep-alive). */
export type MqttConnectOptions = Pick<
  IClientOptions,
  "username" | "password" | "ca" | "cert" | "key" | "rejectUnauthorized" | "keepalive" | "servers"
>;

/**
 * What the link uses of an MQTT client (the subset of MQTT.js's MqttClient, after Kysely's typing
 * of "the subset of better-sqlite3 it needs"): the real client and the unit tests' fake
 * (fake-mqtt-client.ts) both fit.
 */
export interface LinkClient {
  on(event: "connect" | "close", cb: () => void): unknown;
  on(event: "error", cb: (e: Error) => void): unknown;
  on(event: "message", cb: (topic: string, payload: Buffer) => void): unknown;
  subscribe(topics: string[], opts: { qos: 1 }, cb?: (err: Error | null) => void): unknown;
  publish(
    topic: string,
    payload: string | Buffer,
    opts: { qos: 1; retain?: boolean },
    cb?: (err?: Error) => void,
  ): unknown;
  reconnect(): unknown;
  endAsync(force?: boolean): Promise<void>;
  readonly connected: boolean;
}

/**
 * The one place the gateway's MQTT client is made: a persistent session under a fixed client id,
 * no automatic reconnect (the link paces reconnects with its jittered backoff), and a retained
 * `offline` will on the state topic. Credentials and TLS come from the agent config
 * (agent/link-options.ts).
 */
export function createMqttClient(url: string, device: string, options: MqttConnectOptions = {}): MqttClient {
  return mqtt.connect(url, {
    clientId: `barnlink-${device}`,
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    queueQoSZero: false,
    // No table of 65,536 two-byte Buffers for packet ids (mqtt-packet builds it on the first write):
    // ~6 MB of heap on a gateway that publishes a few packets a second (issue #15).
    writeCache: false,
    // 16-bit packet ids must never collide however large the backlog [MQTT-2.3.1-2].
    messageIdProvider: new UniqueMessageIdProvider(),
    will: {
      topic: stateTopic(device),
      payload: Buffer.from(JSON.stringify({ state: "offline" })),
      qos: 1,
      retain: true,
    },
    ...options,
  });
}
