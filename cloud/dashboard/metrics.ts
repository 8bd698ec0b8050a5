import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { counterFrom, gaugeFrom, newRegistry, PROM_CONTENT_TYPE } from "../../core/metrics.ts";
import { hashToken } from "../api/auth.ts";
import type { CloudContext } from "../context.ts";
import type { Ingest } from "../ingest/ingest.ts";
import type { IngestPipeline } from "../ingest/pipeline.ts";

/**
 * The cloud's /metrics (Prometheus text). Ingest figures come from the ingest counters; lending
 * figures are counted in the database at scrape time, so every instance reports the same totals.
 * Unauthenticated by default (bind the API to a private network or put it behind the proxy);
 * with `BARNLINK_METRICS_TOKEN` set, a scrape needs `Authorization: Bearer <that token>`.
 */
export function registerCloudMetrics(
  app: FastifyInstance,
  ctx: CloudContext,
  o: {
    ingest: Ingest;
    pipeline?: IngestPipeline;
    mqttConnected: () => boolean;
    mqttReconnects?: () => number;
    /** Up-batches released as another instance's (affine routing). */
    notOwner?: () => number;
    /** Live ingest instances in this instance's view (affine routing only). */
    members?: () => number;
    token?: string;
  },
): void {
  const reg = newRegistry();
  const c = () => o.ingest.counters as unknown as Record<string, number>;
  counterFrom(reg, "ingest_batches_total", "Up-batches received", [], () => [{ value: c().batches ?? 0 }]);
  counterFrom(reg, "records_committed_total", "Records stored (committed) by ingest", [], () => [
    { value: c().records ?? 0 },
  ]);
  counterFrom(reg, "ingest_duplicates_total", "Duplicate records ignored", [], () => [
    { value: c().duplicates ?? 0 },
  ]);
  counterFrom(reg, "ingest_rejected_total", "Batches rejected (bad signature, chain, format)", [], () => [
    { value: c().rejected ?? 0 },
  ]);
  gaugeFrom(reg, "ingest_queue_depth", "Up-batches taken from the broker, not yet committed", [], () => [
    { value: o.pipeline?.depth ?? 0 },
  ]);
  counterFrom(
    reg,
    "ingest_commit_groups_total",
    "Database transactions that committed up-batches",
    [],
    () => [{ value: o.pipeline?.stats.groups ?? 0 }],
  );
  gaugeFrom(
    reg,
    "ingest_lag_seconds",
    "Capture to commit time of the newest record in the last committed batch (synced clocks only)",
    [],
    () => [{ value: (c().lagMs ?? 0) / 1000 }],
  );
  counterFrom(reg, "mqtt_reconnects_total", "Reconnects of the ingest subscriber since start", [], () => [
    { value: o.mqttReconnects?.() ?? 0 },
  ]);
  gaugeFrom(reg, "mqtt_connected", "1 when the ingest subscriber is connected", [], () => [
    { value: o.mqttConnected() ? 1 : 0 },
  ]);
  counterFrom(
    reg,
    "ingest_not_owner_total",
    "Up-batches released without ingest because another instance owns their device (ingest.routing affine)",
    [],
    () => [{ value: o.notOwner?.() ?? 0 }],
  );
  if (o.members) {
    const members = o.members;
    gaugeFrom(
      reg,
      "ingest_members",
      "Live ingest instances in this instance's view (ingest.routing affine)",
      [],
      () => [{ value: members() }],
    );
  }
  const db = ctx.db.kysely;
  counterFrom(reg, "tranche_decisions_total", "Tranche decisions by outcome", ["outcome"], async () =>
    (
      await db
        .selectFrom("lending_decisions")
        .select(["outcome", (eb) => eb.fn.countAll<number>().as("n")])
        .groupBy("outcome")
        .execute()
    ).map((r) => ({ labels: { outcome: r.outcome }, value: Number(r.n) })),
  );
  counterFrom(reg, "tranche_released_fen_total", "Money released to feed suppliers (fen)", [], async () => {
    const r = await db
      .selectFrom("lending_tranches")
      .select((eb) => eb.fn.sum<number | string>("released_fen").as("n"))
      .executeTakeFirst();
    return [{ value: Number(r?.n ?? 0) }];
  });
  gaugeFrom(reg, "alerts_open", "Lending alerts not yet acknowledged", ["severity"], async () =>
    (
      await db
        .selectFrom("lending_alerts")
        .select(["severity", (eb) => eb.fn.countAll<number>().as("n")])
        .where("acked_at", "is", null)
        .groupBy("severity")
        .execute()
    ).map((r) => ({ labels: { severity: r.severity }, value: Number(r.n) })),
  );
  gaugeFrom(
    reg,
    "device_last_seen_age_seconds",
    "Time since a device's last record arrived",
    ["device"],
    async () =>
      (
        await db
          .selectFrom("streams")
          .select(["device", (eb) => eb.fn.max("last_seen").as("t")])
          .groupBy("device")
          .execute()
      ).map((r) => ({
        labels: { device: r.device },
        value: r.t ? Math.max(0, (ctx.now() - Number(r.t)) / 1000) : 0,
      })),
  );
  const want = o.token ? Buffer.from(hashToken(o.token), "hex") : undefined;
  const allowed = (h: string | undefined) => {
    if (!want) return true;
    const m = /^Bearer\s+(\S+)$/i.exec(h ?? "");
    return !!m && timingSafeEqual(Buffer.from(hashToken(m[1]!), "hex"), want);
  };
  app.get("/metrics", async (req, reply) => {
    if (!allowed(req.headers.authorization)) {
      return reply
        .code(401)
        .send({ error: { code: "BL_UNAUTHORIZED", message: "metrics need the metrics token" } });
    }
    return reply.type(PROM_CONTENT_TYPE).send(await reg.metrics());
  });
}
