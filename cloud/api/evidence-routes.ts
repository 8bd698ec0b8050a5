import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { ident } from "../../core/zod-helpers.ts";
import type { CloudContext } from "../context.ts";
import { type DeviceKeys, listDevices, registerDevice, revokeDevice } from "../devices.ts";
import { requireRole } from "./auth.ts";
import { parseRequest } from "./validate.ts";
import { valueHistory, valuesQuery } from "./value-history.ts";

export const registerBody = z.strictObject({
  id: ident(),
  publicKey: z.string().min(40).max(64),
  name: z.string().max(200).optional(),
});
export const deviceParams = z.object({ id: ident() });
export const recordsQuery = z.strictObject({
  stream: z.string().min(1),
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
export const rejectsQuery = z.strictObject({
  device: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

async function deviceDetail(ctx: CloudContext, id: string) {
  const k = ctx.db.kysely;
  const dev = await k.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirst();
  if (!dev) throw ERR_NOT_FOUND(`device '${id}' is not registered`);
  const streams = await k
    .selectFrom("streams")
    .selectAll()
    .where("device", "=", id)
    .orderBy("stream")
    .execute();
  const gaps = await k
    .selectFrom("gaps")
    .selectAll()
    .where("device", "=", id)
    .orderBy("stream")
    .orderBy("from_seq")
    .execute();
  const rejected = await k
    .selectFrom("rejects")
    // Each sample stands for itself and the rejects counted but not sampled before it (caps).
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.sum<number>("suppressed").as("suppressed")])
    .where("device", "=", id)
    .executeTakeFirst();
  // Declared restarts (docs/protocol.md): what each closed generation left missing, for the lender.
  const restarts = await k
    .selectFrom("stream_restarts")
    .selectAll()
    .where("device", "=", id)
    .orderBy("generation")
    .execute();
  const out: Record<string, unknown> = {};
  for (const s of streams) {
    const mine = restarts.filter((r) => r.stream === s.stream);
    const committed = Number(s.committed_seq);
    const max = Number(s.max_seq);
    const evictions = gaps
      .filter((g) => g.stream === s.stream)
      .map((g) => ({
        from: Number(g.from_seq),
        to: Number(g.to_seq),
        count: Number(g.count),
        reason: g.reason,
      }));
    out[s.stream] = {
      committedSeq: committed,
      maxSeq: max,
      count: Number(s.count),
      chain: s.chain_ok ? "ok" : "broken",
      ...(s.chain_error ? { chainError: s.chain_error } : {}),
      lastSeen: s.last_seen === null ? null : Number(s.last_seen),
      /** Seqs above committedSeq not yet received (out of order or still in transit). */
      openGaps: max > committed ? await openGaps(ctx, id, s.stream, committed, max) : [],
      evictions,
      ...(mine.length
        ? {
            generation: Number(s.generation),
            restarts: mine.map((r) => ({
              generation: Number(r.generation),
              seqBase: Number(r.seq_base),
              oldCommittedSeq: Number(r.old_committed),
              oldMaxSeq: Number(r.old_max),
              missing: Number(r.missing),
              at: Number(r.declared_at),
            })),
          }
        : {}),
    };
  }
  return {
    id: dev.id,
    name: dev.name,
    publicKey: dev.public_key,
    registeredAt: Number(dev.registered_at),
    revoked: dev.revoked_at !== null,
    rejected: Number(rejected?.n ?? 0) + Number(rejected?.suppressed ?? 0),
    streams: out,
  };
}

async function openGaps(ctx: CloudContext, device: string, stream: string, committed: number, max: number) {
  const rows = await ctx.db.kysely
    .selectFrom("records")
    .select("seq")
    .where("device", "=", device)
    .where("stream", "=", stream)
    .where("seq", ">", committed)
    .orderBy("seq")
    .limit(10_000)
    .execute();
  const gaps: Array<{ from: number; to: number }> = [];
  let expect = committed + 1;
  for (const r of rows) {
    const seq = Number(r.seq);
    if (seq > expect) gaps.push({ from: expect, to: seq - 1 });
    expect = seq + 1;
  }
  if (expect <= max) gaps.push({ from: expect, to: max });
  return gaps.slice(0, 100);
}

/** Devices, their streams and records (issue: walking skeleton's HTTP contract). */
export async function evidenceRoutes(app: FastifyInstance, ctx: CloudContext, keys?: DeviceKeys) {
  app.get("/api/v1/devices", async () => {
    const devices = await listDevices(ctx.db);
    // One grouped query: per device, its streams, records, chain state and last record (was every
    // device compared with every stream: a second at 17k devices).
    const per = await ctx.db.kysely
      .selectFrom("streams")
      .select((eb) => [
        "device",
        eb.fn.countAll<number>().as("streams"),
        eb.fn.sum<number>("count").as("records"),
        eb.fn.min<number>("chain_ok").as("chain_ok"),
        eb.fn.max<number>("last_seen").as("last_seen"),
      ])
      .groupBy("device")
      .execute();
    const by = new Map(per.map((r) => [r.device, r]));
    return {
      devices: devices.map((d) => {
        const r = by.get(d.id);
        return {
          ...d,
          streams: Number(r?.streams ?? 0),
          records: Number(r?.records ?? 0),
          chain: r === undefined || Number(r.chain_ok) === 1 ? "ok" : "broken",
          lastSeen: r?.last_seen == null ? null : Number(r.last_seen),
        };
      }),
    };
  });

  app.post("/api/v1/devices", { preHandler: requireRole("admin") }, async (req, reply) => {
    const b = parseRequest(registerBody, req.body);
    const row = await registerDevice(ctx.db, b.id, b.publicKey, b.name ?? null, ctx.now());
    keys?.forget(b.id);
    reply.code(201);
    return row;
  });

  app.delete("/api/v1/devices/:id", { preHandler: requireRole("admin") }, async (req) => {
    const { id } = parseRequest(deviceParams, req.params, "params");
    if (!(await revokeDevice(ctx.db, id, ctx.now()))) throw ERR_NOT_FOUND(`device '${id}' is not registered`);
    keys?.forget(id);
    return { id, revoked: true };
  });

  app.get("/api/v1/devices/:id", async (req) => {
    const { id } = parseRequest(deviceParams, req.params, "params");
    return deviceDetail(ctx, id);
  });

  app.get("/api/v1/devices/:id/records", async (req) => {
    const { id } = parseRequest(deviceParams, req.params, "params");
    const q = parseRequest(recordsQuery, req.query, "query");
    const dev = await ctx.db.kysely
      .selectFrom("devices")
      .select("id")
      .where("id", "=", id)
      .executeTakeFirst();
    if (!dev) throw ERR_NOT_FOUND(`device '${id}' is not registered`);
    const rows = await ctx.db.kysely
      .selectFrom("records")
      .selectAll()
      .where("device", "=", id)
      .where("stream", "=", q.stream)
      .where("seq", ">", q.after)
      .orderBy("seq")
      .limit(q.limit)
      .execute();
    return {
      device: id,
      stream: q.stream,
      records: rows.map((r) => ({
        seq: Number(r.seq),
        kind: r.kind,
        time: {
          wall: Number(r.t_wall),
          iso: new Date(Number(r.t_corrected ?? r.t_wall)).toISOString(),
          boot: r.t_boot,
          mono: Number(r.t_mono),
          synced: r.t_synced === 1,
          corrected: r.t_corrected === null ? null : Number(r.t_corrected),
        },
        body: JSON.parse(r.body),
        hash: r.hash,
      })),
      next: rows.length === q.limit ? Number(rows.at(-1)!.seq) : null,
    };
  });

  // One sensor's history by name, from its reading stream and from the block records that hold it.
  app.get("/api/v1/devices/:id/values", async (req) => {
    const { id } = parseRequest(deviceParams, req.params, "params");
    const q = parseRequest(valuesQuery, req.query, "query");
    const dev = await ctx.db.kysely
      .selectFrom("devices")
      .select("id")
      .where("id", "=", id)
      .executeTakeFirst();
    if (!dev) throw ERR_NOT_FOUND(`device '${id}' is not registered`);
    const points = await valueHistory(ctx.db, [id], q.name, q);
    return { device: id, name: q.name, points };
  });

  app.get("/api/v1/rejects", { preHandler: requireRole("auditor", "officer") }, async (req) => {
    const q = parseRequest(rejectsQuery, req.query, "query");
    let qb = ctx.db.kysely
      .selectFrom("rejects")
      .select([
        "id",
        "device",
        "topic",
        "code",
        "reason",
        "payload_bytes",
        "payload_sha256",
        "payload_b64",
        "suppressed",
        "received_at",
      ]);
    if (q.device) qb = qb.where("device", "=", q.device);
    const rows = await qb.orderBy("id", "desc").limit(q.limit).execute();
    return {
      rejects: rows.map(({ payload_b64, ...r }) => ({
        ...r,
        id: Number(r.id),
        suppressed: Number(r.suppressed),
        // The first bytes kept of the payload (a sample, never the whole message).
        head_b64: payload_b64,
        received_at: Number(r.received_at),
      })),
    };
  });
}
