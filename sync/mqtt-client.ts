import { createRequire } from "node:module";
import mqtt, { type IClientOptions, MqttClient, UniqueMessageIdProvider } from "mqtt";
import { stateTopic } from "./topics.ts";

type StreamBuilder = (client: MqttClient, opts: IClientOptions) => unknown;
const requireHere = createRequire(import.meta.url);
/** MQTT.js's own TCP and TLS transports (mqtt/lib/connect/{tcp,tls}), by URL scheme. */
const TRANSPORTS: Record<string, () => StreamBuilder> = {
  mqtt: () => requireHere("mqtt/lib/connect/tcp").default,
  tcp: () => requireHere("mqtt/lib/connect/tcp").default,
  mqtts: () => requireHere("mqtt/lib/connect/tls").default,
  ssl: () => requireHere("mqtt/lib/connect/tls").default,
};
const SECURE: Record<string, string> = { mqtt: "mqtts", tcp: "ssl" };

/**
 * `mqtt.connect` for mqtt://, mqtts://, tcp:// and ssl:// brokers (and `servers` lists of them),
 * with only the transport the URL names: MQTT.js's connect() requires every transport it has at the
 * first connect, WebSockets among them, and `ws` brings node:http, node:https, node:tls and zlib,
 * which a gateway never uses (issue #15: with the agent's other lazy loads, 60.0 → 58.5 MB RSS). Same options, same URL reading (host, port,
 * user:password, client certificates upgrade mqtt to mqtts) and server rotation as mqtt.connect;
 * ws:// and wss:// still go through mqtt.connect.
 */
export function connectDirect(url: string, opts: IClientOptions): MqttClient | undefined {
  const u = new URL(url);
  let protocol = u.protocol.replace(/:$/, "");
  if (opts.cert && opts.key) protocol = SECURE[protocol] ?? protocol;
  const servers = opts.servers ?? [];
  if (!TRANSPORTS[protocol] || servers.some((s) => s.protocol && !TRANSPORTS[s.protocol])) return undefined;
  // Options left undefined (link-options passes `username: undefined`) do not hide the URL's parts.
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o: IClientOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    ...(u.port ? { port: Number(u.port) } : {}),
    protocol: protocol as IClientOptions["protocol"],
    socksProxy: process.env.MQTTJS_SOCKS_PROXY,
    ...given,
  };
  // As mqtt.connect (parseAuthOptions): user:password in the URL wins over the options.
  if (u.username) {
    o.username = decodeURIComponent(u.username);
    if (u.password) o.password = decodeURIComponent(u.password);
  }
  o.defaultProtocol = o.protocol;
  let turn = 0;
  const builder = (client: MqttClient) => {
    if (servers.length > 0) {
      const s = servers[turn++ % servers.length]!;
      o.host = s.host;
      o.hostname = s.host;
      o.port = s.port;
      o.protocol = s.protocol ?? o.defaultProtocol;
    }
    return TRANSPORTS[o.protocol!]!()(client, o);
  };
  const client = new MqttClient(builder as never, o);
  // As mqtt.connect does: an error with no listener must not crash the process before ours attach.
  client.on("error", () => {});
  return client;
}

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
  const opts: IClientOptions = {
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
  };
  return connectDirect(url, opts) ?? mqtt.connect(url, opts);
}
