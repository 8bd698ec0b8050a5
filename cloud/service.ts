import type { FastifyInstance } from "fastify";
import { loadOrCreateKey } from "../core/keys.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { type ApiToken, hashToken } from "./api/auth.ts";
import type { ApiModule } from "./api/server.ts";
import { CommandQueue } from "./commands.ts";
import type { CloudConfig } from "./config.ts";
import type { CloudContext } from "./context.ts";
import { registerCloudMetrics } from "./dashboard/metrics.ts";
import { openDb } from "./db/connect.ts";
import { migrateToLatest } from "./db/migrate.ts";
import { registerDevice } from "./devices.ts";
import { Membership } from "./ingest/affinity.ts";
import { startAmqpIngest } from "./ingest/amqp.ts";
import { Ingest } from "./ingest/ingest.ts";
import { IngestPipeline } from "./ingest/pipeline.ts";
import { startSubscriber } from "./ingest/subscriber.ts";
import { serviceApi } from "./service-api.ts";

export interface CloudHandle {
  ctx: CloudContext;
  ingest: Ingest;
  pipeline: IngestPipeline;
  /** The ingest subscriber's connection: connected now, and reconnects since start. */
  mqtt(): { connected: boolean; reconnects: number };
  /** Up-batches released without ingest as another instance's (affine routing; 0 otherwise). */
  notOwner(): number;
  /** Device-affine routing's membership (`ingest.routing: affine`), else undefined. */
  membership?: Membership;
  http: FastifyInstance;
  url: string;
  publicKey: string;
  stop(): Promise<void>;
}

export interface CloudOptions {
  log?: Logger;
  /** Extra API modules (lending, models, dashboard) mounted under the authenticated /api scope. */
  modules?: ApiModule[];
  /** Background jobs started once the service is up (the lending engine's timer). */
  jobs?: Array<(ctx: CloudContext) => { stop(): Promise<void> | void }>;
  now?: () => number;
  /** PostgreSQL schema to use (tests run one each). */
  schema?: string;
}

/** Starts the cloud: database (migrated), key, ingest over MQTT, HTTP API. */
export async function startCloud(config: CloudConfig, opts: CloudOptions = {}): Promise<CloudHandle> {
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? Date.now;
  const db = openDb(config.database.url, { poolSize: config.database.poolSize, schema: opts.schema });
  await migrateToLatest(db);
  const key = loadOrCreateKey(config.keyFile);
  if (key.created) log.info({ file: config.keyFile }, "created the cloud key");
  for (const d of config.devices) await registerDevice(db, d.id, d.publicKey, d.name ?? null, now());

  // On PostgreSQL ingest writes through its own pool, so API reads and lending jobs never queue
  // ahead of it. On SQLite it shares the one connection: two better-sqlite3 connections writing in
  // one process would wait for each other inside SQLite's busy handler, which blocks the event loop
  // the other one needs to finish (a stall of busy_timeout, then SQLITE_BUSY).
  const ingestDb =
    db.dialect === "postgres"
      ? openDb(config.database.url, { poolSize: config.ingest.poolSize, schema: opts.schema })
      : db;
  const ingest = new Ingest(ingestDb, key, log, now);
  const pipeline = new IngestPipeline(ingest, {
    maxInFlight: config.ingest.maxInFlight,
    maxGroup: config.ingest.maxGroup,
  });
  // Commands are stored, then published; re-sent when their device comes online, closed by its evidence.
  // Retained `online` states arrive as soon as the subscriber subscribes, before it is returned here.
  let subscribed!: (t: Transport) => void;
  const transport = new Promise<Transport>((r) => {
    subscribed = r;
  });
  const commands: CommandQueue = new CommandQueue(
    db,
    key,
    async (topic, payload) => {
      await (await transport).publish(topic, payload);
    },
    now,
    log,
  );
  ingest.onCommitted = (device, segments) => commands.confirmFrom(device, segments);
  const ctx: CloudContext = {
    db,
    log,
    key,
    now,
    sendCommand: (device, name, args) => commands.send(device, name, args),
  };
  const tokens: ApiToken[] = config.tokens.map((t) => ({
    name: t.name,
    role: t.role,
    sha256: t.sha256 ?? hashToken(t.token!),
  }));
  // Affine routing: this instance's heartbeat and view of the live instances, before the first batch.
  const membership =
    config.ingest.routing === "affine"
      ? new Membership(ingestDb, {
          instance: config.instance,
          heartbeatMs: config.ingest.heartbeat,
          livenessMs: config.ingest.liveness,
          now,
          log,
        })
      : undefined;
  await membership?.start();
  let sub: Transport | undefined;
  const mqttConnected = () => sub?.connected() ?? false;
  const http = await serviceApi(config, ctx, tokens, ingest.keys, {
    modules: opts.modules ?? [],
    health: () => ({ mqtt: mqttConnected(), ingest: ingest.counters, queue: pipeline.depth }),
  });
  registerCloudMetrics(http, ctx, {
    ingest,
    pipeline,
    mqttConnected,
    mqttReconnects: () => sub?.stats.reconnects ?? 0,
    notOwner: () => sub?.stats.notOwner ?? 0,
    members: membership ? () => membership.ownership.view.length : undefined,
    token: process.env.BARNLINK_METRICS_TOKEN,
  });
  // The API listens before the subscriber connects: a restart into a broker backlog serves health,
  // metrics and reads at once while the backlog drains behind it.
  const url = await http.listen({ host: config.http.host, port: config.http.port });
  log.info({ url }, "cloud API listening");
  sub = await startTransport(config, pipeline, log, (device) => commands.online(device), membership);
  subscribed(sub);
  const jobs = (opts.jobs ?? []).map((j) => j(ctx));
  return {
    ctx,
    ingest,
    pipeline,
    mqtt: () => ({ connected: mqttConnected(), reconnects: sub?.stats.reconnects ?? 0 }),
    notOwner: () => sub?.stats.notOwner ?? 0,
    membership,
    http,
    url,
    publicKey: key.publicKeyB64,
    async stop() {
      for (const j of jobs) await j.stop();
      await http.close();
      // Its row goes first, so the others take its devices while it drains (both owning is safe).
      await membership?.stop();
      await sub?.stop();
      await pipeline.drain();
      if (ingestDb !== db) await ingestDb.close();
      await db.close();
    },
  };
}

/** Where up-batches come from and acks and commands go: one MQTT subscription, or a RabbitMQ queue over AMQP. */
interface Transport {
  connected(): boolean;
  stats: { reconnects: number; notOwner?: number };
  publish(topic: string, payload: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

async function startTransport(
  config: CloudConfig,
  pipeline: IngestPipeline,
  log: Logger,
  onOnline: (device: string) => Promise<unknown>,
  membership?: Membership,
): Promise<Transport> {
  if (config.ingest.transport === "amqp")
    return startAmqpIngest(pipeline, {
      ...config.amqp,
      prefetch: config.ingest.maxInFlight,
      instance: config.instance,
      log,
      onOnline,
    });
  const m = config.mqtt;
  const s = await startSubscriber(pipeline, {
    ...m,
    instance: config.instance,
    log,
    onOnline,
    ...(membership ? { owns: (device: string) => membership.owns(device) } : {}),
  });
  return {
    connected: () => s.client.connected,
    stats: s.stats,
    publish: async (topic, payload) => {
      await s.client.publishAsync(topic, payload, { qos: 1 });
    },
    stop: s.stop,
  };
}
