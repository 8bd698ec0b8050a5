import { z } from "zod";
import { bytes, duration, ident, mqttUrl } from "../core/zod-helpers.ts";
import { driverByName, sourceConfigSchema } from "../drivers/registry.ts";

/** The agent's configuration (docs/configuration.md documents every key). */
export function agentConfigSchema() {
  return z
    .strictObject({
      /** This gateway's id: its MQTT topics, its records, its registration in the cloud. */
      device: ident(),
      /** Where the outbox (outbox.db) and the device key (device.key) live. */
      dataDir: z.string().min(1).default("./data"),
      cloud: z.strictObject({
        mqtt: z
          .strictObject({
            url: mqttUrl(),
            /** More brokers (a cluster's other nodes): after a dropped connection the link tries the next, in turn. */
            failover: z
              .array(
                z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, "an mqtt://, mqtts://, ws:// or wss:// URL"),
              )
              .optional(),
            username: z.string().optional(),
            password: z.string().optional(),
            caFile: z.string().optional(),
            certFile: z.string().optional(),
            keyFile: z.string().optional(),
            keepalive: duration().default(60_000),
          })
          .prefault({}),
        /** The cloud's Ed25519 public key (base64, from `barnlink cloud key`): acks and commands must verify against it. */
        publicKey: z
          .string()
          .regex(/^[A-Za-z0-9+/]{43}=$/, "base64 of a 32-byte Ed25519 public key (44 characters)"),
      }),
      sync: z
        .strictObject({
          batchMaxRecords: z.number().int().min(1).max(100_000).default(2000),
          batchMaxBytes: bytes().default(256 * 1024),
          /** How long small appends wait to share a batch (1 s: half the batches, signatures and acks of 500 ms). */
          linger: duration().default(1000),
          /** Batches published and not yet acknowledged, at most. */
          window: z.number().int().min(1).max(256).default(8),
          /** Resend a batch the cloud has not acknowledged within this time. */
          ackTimeout: duration().default(30_000),
          compression: z.enum(["auto", "brotli", "deflate", "deflate-dict", "none"]).default("auto"),
          reconnectBase: duration().default(1000),
          reconnectCap: duration().default(5000),
          /** Metered links: bytes per 24 h for telemetry and media (alarms and evidence are exempt); unset = unlimited. */
          dailyBudget: bytes().optional(),
          /**
           * An input whose `true` event means the network is back (a patrol robot's dock contact):
           * the link reconnects at once instead of waiting out its backoff.
           */
          reconnectOn: z.string().max(64).optional(),
          /**
           * Away from the dock (after the `reconnectOn` input's `false` event): send alarms only, at
           * most this many bytes until the dock; everything else waits for the dock. Unset = no limit.
           */
          awayBudget: bytes().optional(),
        })
        .prefault({}),
      /** The outbox's disk bounds (docs/durability.md). */
      outbox: z
        .strictObject({
          /** Pending bytes above which media, then the oldest telemetry, is evicted (each eviction recorded as a gap). */
          quota: bytes().default(2 * 1024 ** 3),
          /** Free disk below which evictable data goes and only alarms are still taken. */
          minFreeDisk: bytes().default(100 * 1024 ** 2),
        })
        .prefault({}),
      clock: z
        .strictObject({
          /** auto: trust wall time once timesyncd, the kernel, chrony or ntpd says it is synced (core/clock-sync.ts; Pis have no RTC). */
          synced: z.enum(["auto", "always", "never"]).default("auto"),
          /** Demo only: run the wall clock this many times faster (8640 = a barn-day in 10 s). */
          speed: z.number().positive().max(1e6).optional(),
          /** Demo only: the simulated start time (ISO 8601). */
          start: z.iso.datetime({ offset: true }).optional(),
          /** Demo only: the real time (ISO 8601) at which the simulated clock read `start`. */
          origin: z.iso.datetime({ offset: true }).optional(),
        })
        .prefault({}),
      /** How often the agent appends a signed seal of every stream's head (evidence of what existed by when). */
      sealInterval: duration().default(3_600_000),
      sources: z.array(sourceConfigSchema()).default([]),
      /** How node runs the agent under its systemd unit (agent/node-flags.ts, `barnlink agent node-flags`). */
      runtime: z
        .strictObject({
          /**
           * auto: V8's lite mode (no optimising compiler, no WebAssembly: ~10 MB less memory) when no
           * source needs them (camera, faces, patrol); on: always (a source that needs them is a config
           * error); off: never (a gateway that will get a camera by config.apply without a restart).
           */
          liteMode: z.enum(["auto", "on", "off"]).default("auto"),
        })
        .prefault({}),
      /** The read-only gateway page and /metrics on the LAN (docs/install-pi.md); port 0 picks a free port. */
      http: z
        .strictObject({
          enabled: z.boolean().default(true),
          port: z.number().int().min(0).max(65_535).default(8081),
          /** Loopback by default (#13): the page is reachable from the LAN only when configured so, and then needs a password. */
          host: z.string().min(1).default("127.0.0.1"),
          /** When set, the page and /metrics need HTTP basic auth with this password. Required off loopback. */
          password: z.string().min(8).optional(),
          /** Extra regions to draw on a camera's snapshot (aiming a camera); faces pipelines' ROIs are drawn anyway. */
          rois: z
            .record(
              z.string(),
              z.array(
                z.strictObject({
                  left: z.number().int().min(0),
                  top: z.number().int().min(0),
                  width: z.number().int().positive(),
                  height: z.number().int().positive(),
                }),
              ),
            )
            .default({}),
        })
        .refine((h) => !h.enabled || isLoopback(h.host) || h.password !== undefined, {
          message: "a gateway page exposed beyond this machine (http.host not loopback) needs http.password",
          path: ["password"],
        })
        .prefault({}),
    })
    .superRefine((c, ctx) => {
      if (c.runtime.liteMode !== "on") return;
      c.sources.forEach((s, i) => {
        if (driverByName(s.driver)?.needsJit)
          ctx.addIssue({
            code: "custom",
            path: ["sources", i, "driver"],
            message: `driver ${s.driver} needs WebAssembly and V8's compilers, which runtime.liteMode: on turns off (use auto)`,
          });
      });
    });
}

/** 127.0.0.0/8, ::1 and localhost: the page is then reachable only from the gateway itself. */
export const isLoopback = (host: string) =>
  /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1" || host === "localhost";

export type AgentConfig = z.output<ReturnType<typeof agentConfigSchema>>;
