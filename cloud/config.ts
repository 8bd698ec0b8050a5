import { z } from "zod";
import { duration, ident, mqttUrl } from "../core/zod-helpers.ts";

/** The cloud service's configuration (docs/configuration.md documents every key). */
export const cloudConfigSchema = z
  .strictObject({
    /** Name of this instance: used in its MQTT client id; each instance of a scaled-out cloud needs its own. */
    instance: ident().default("cloud-1"),
    database: z
      .strictObject({
        /** A SQLite file path, or a postgres:// URL. */
        url: z.string().min(1).default("./data/cloud.db"),
        /** PostgreSQL pool size per instance. */
        poolSize: z.number().int().min(1).max(100).default(10),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        url: mqttUrl(),
        username: z.string().optional(),
        password: z.string().optional(),
        /** Share the ingest among instances: subscribes to $share/<group>/barnlink/v1/+/up (MQTT 5). */
        sharedGroup: ident().optional(),
        /** CA file for mqtts://. */
        caFile: z.string().optional(),
        /** Client certificate and key (PEM) for a broker that requires them (`barnlink certs`). */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** MQTT keep-alive: a silent link is declared dead after 1.5 × this (any packet from the broker counts as life). */
        keepalive: duration().default(60_000),
      })
      .prefault({}),
    /** RabbitMQ (cluster) over AMQP 0-9-1, when `ingest.transport` is `amqp` (docs/scaling.md). */
    amqp: z
      .strictObject({
        /** The cluster's nodes (amqp:// or amqps:// with credentials): the next is tried when a connection drops. */
        urls: z.array(z.string().regex(/^amqps?:\/\//, "an amqp:// or amqps:// URL")).default([]),
        /** The durable quorum queue, bound to barnlink.v1.*.up on amq.topic, that every instance consumes. */
        queue: z.string().min(1).max(200).default("barnlink.ingest"),
        /** CA file for amqps://. */
        caFile: z.string().optional(),
        /** Client certificate and key (PEM) for a broker that requires them. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        /** Where up-batches come from: an MQTT subscription (`mqtt`, shared with `mqtt.sharedGroup`), or a RabbitMQ quorum queue over AMQP (`amqp`). */
        transport: z.enum(["mqtt", "amqp"]).default("mqtt"),
        /** Up-batches taken from the broker and not yet committed, at most; past it the subscriber stops reading (back-pressure). */
        maxInFlight: z.number().int().min(1).max(100_000).default(256),
        /** Up-batches committed in one database transaction, at most (group commit). */
        maxGroup: z.number().int().min(1).max(10_000).default(64),
        /** PostgreSQL connections of the ingest's own pool (separate from the API's). */
        poolSize: z.number().int().min(1).max(100).default(4),
        /** `broker`: the broker decides which instance takes a batch (one subscription, shared with `mqtt.sharedGroup`). `affine`: every instance hears every device and commits only the devices it owns (cloud/ingest/affinity.ts). */
        routing: z.enum(["broker", "affine"]).default("broker"),
        /** Affine routing: how often each instance writes its heartbeat into `ingest_members`. */
        heartbeat: duration().default(3000),
        /** Affine routing: an instance without a heartbeat for this long loses its devices to the others. */
        liveness: duration().default(15_000),
      })
      .prefault({}),
    http: z
      .strictObject({
        host: z.string().default("127.0.0.1"),
        /** 0 picks a free port. */
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    /** Provisioning gateways (`barnlink cloud enrol`, `barnlink provision`) and key rotation (docs/security.md). */
    enrol: z
      .strictObject({
        /** How long an enrolment token lives when the admin gives no --ttl. */
        ttl: duration().default(15 * 60_000),
        /** The longest an admin may ask for. */
        maxTtl: duration().default(7 * 86_400_000),
        /** The broker URL as gateways reach it, written into their config by `barnlink provision`. */
        mqttUrl: z
          .string()
          .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, "an mqtt://, mqtts://, ws:// or wss:// URL")
          .optional(),
        /** The deployment CA's folder (`barnlink certs init`): with it, gateways' CSRs are signed for TLS client certificates. */
        caDir: z.string().optional(),
        /** Days a device certificate issued at enrolment is valid. */
        certDays: z.number().int().min(1).max(3650).default(825),
        /** After a key rotation, how long the old key and broker password keep working. */
        rotationOverlap: duration().default(3_600_000),
      })
      .prefault({}),
    /** The cloud's Ed25519 key: signs acks, commands and model packages. Created (mode 0600) if missing. */
    keyFile: z.string().default("./data/cloud.key"),
    /** Signed pig-face model packages published for rollout (`barnlink model publish`), served at /models/. */
    modelsDir: z.string().default("./data/models"),
    /** Herd adaptation jobs (POST /api/v1/models/adapt-jobs, cloud/models/adapt-jobs.ts). */
    adapt: z
      .strictObject({
        /** Folders of labelled frames (DIR/<pigId>/*.jpg) the API may name, relative to this; unset: none. */
        herdDataDir: z.string().optional(),
        /** Frames and models of running jobs; each job's folder is removed when it ends. */
        workDir: z.string().default("./data/adapt"),
        /** A job running longer is stopped and marked failed. */
        maxMinutes: z.number().int().min(1).max(10_080).default(240),
        /** An uploaded herd archive (POST /api/v1/models/herd-uploads), and what it unpacks to, at most. */
        maxUploadBytes: z
          .number()
          .int()
          .min(1024)
          .max(2 ** 40)
          .default(2 ** 30),
        /** Herd uploads older than this and used by no queued or running adapt job are removed; 0 keeps them. */
        uploadRetention: duration().default(30 * 86_400_000),
      })
      .prefault({}),
    /** API bearer tokens. Give `sha256` (hex of the token) rather than `token` in production configs. */
    tokens: z
      .array(
        z
          .strictObject({
            name: z.string().min(1),
            role: z.enum(["admin", "officer", "auditor"]),
            token: z.string().min(16, "tokens must be at least 16 characters").optional(),
            sha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/, "64 hex characters")
              .optional(),
          })
          .refine(
            (t) => (t.token === undefined) !== (t.sha256 === undefined),
            "give exactly one of token or sha256",
          ),
      )
      .default([]),
    /** Devices registered at start (equivalent to `barnlink devices add`). */
    devices: z
      .array(
        z.strictObject({
          id: ident(),
          // As the agent's cloud.publicKey: a typo here would only show as every batch rejected later.
          publicKey: z
            .string()
            .regex(
              /^[A-Za-z0-9+/]{43}=$/,
              "base64 of a 32-byte Ed25519 public key (44 characters; `barnlink keys show` prints it)",
            ),
          name: z.string().optional(),
        }),
      )
      .default([]),
  })
  .refine((c) => c.ingest.transport !== "amqp" || c.amqp.urls.length > 0, {
    message: "ingest.transport amqp needs amqp.urls (the cluster's nodes)",
    path: ["amqp", "urls"],
  })
  .refine((c) => c.ingest.routing !== "affine" || /^postgres(ql)?:\/\//.test(c.database.url), {
    message:
      "ingest.routing affine needs PostgreSQL (database.url postgres://): on SQLite there is one instance, use the default routing",
    path: ["ingest", "routing"],
  })
  .refine((c) => c.ingest.routing !== "affine" || (c.ingest.transport === "mqtt" && !c.mqtt.sharedGroup), {
    message:
      "ingest.routing affine subscribes every instance to every device: use it with ingest.transport mqtt and without mqtt.sharedGroup",
    path: ["ingest", "routing"],
  })
  .refine((c) => c.ingest.routing !== "affine" || c.ingest.liveness >= 2 * c.ingest.heartbeat, {
    message: "ingest.liveness must be at least twice ingest.heartbeat (a live instance must never look dead)",
    path: ["ingest", "liveness"],
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;
