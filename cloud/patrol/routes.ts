import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { requireRole } from "../api/auth.ts";
import type { ApiModule } from "../api/server.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import { ERR_PATROL_NOT_FOUND, ERR_PATROL_REVIEW } from "./errors.ts";
import { roundCsv, roundPdf } from "./export.ts";
import { checkpointTrend, listRounds, roundReport } from "./report.ts";
import { frameBySha, patrolRobots } from "./store.ts";

export const robot = z.strictObject({ device: ident() });
export const roundParams = z.strictObject({ device: ident(), round: z.coerce.number().int().nonnegative() });
export const review = z.strictObject({
  checkpoint: z.string().min(1).max(64),
  check: z.string().min(1).max(64),
  verdict: z.enum(["confirmed", "false-alarm"]),
  note: z.string().max(1000).default(""),
});
export const trendParams = z.strictObject({ device: ident(), checkpoint: z.string().min(1).max(64) });
export const frameParams = z.strictObject({ device: ident(), sha: z.string().regex(/^[0-9a-f]{64}$/) });
/** Only the envelope: the agent validates the whole plan and reports `failed` in its commands stream. */
export const planBody = z.strictObject({
  plan: z.looseObject({
    version: z.string().min(1).max(64),
    checkpoints: z.array(z.looseObject({ id: z.string() })).min(1),
  }),
});

/**
 * The patrol API (docs/patrol.md): robots, their rounds as inspection reports (JSON, CSV, PDF),
 * trends per checkpoint, the frame behind each violation, operator reviews, missions pushed as
 * signed commands. Reads: officer or auditor; writes: officer.
 */
export function patrolModule(): ApiModule {
  return {
    async routes(app: FastifyInstance, ctx: CloudContext) {
      const read = { preHandler: requireRole("officer", "auditor") };
      const write = { preHandler: requireRole("officer") };
      const base = "/api/v1/patrol/robots";
      app.get(base, read, async () => {
        const out = [];
        for (const device of await patrolRobots(ctx))
          out.push({ device, rounds: (await listRounds(ctx, device)).slice(0, 1) });
        return out;
      });
      app.get(`${base}/:device/rounds`, read, async (req) => {
        const { device } = parseRequest(robot, req.params, "params");
        return listRounds(ctx, device);
      });
      app.get(`${base}/:device/rounds/:round`, read, async (req) => {
        const p = parseRequest(roundParams, req.params, "params");
        return roundReport(ctx, p.device, p.round);
      });
      app.get(`${base}/:device/rounds/:round/report.csv`, read, async (req, reply) => {
        const p = parseRequest(roundParams, req.params, "params");
        const r = await roundReport(ctx, p.device, p.round);
        reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="patrol-${p.device}-${p.round}.csv"`);
        return roundCsv(r);
      });
      app.get(`${base}/:device/rounds/:round/report.pdf`, read, async (req, reply) => {
        const p = parseRequest(roundParams, req.params, "params");
        const r = await roundReport(ctx, p.device, p.round);
        const frames = new Map<string, Buffer>();
        for (const f of r.findings)
          if (f.frameSha256 && !frames.has(f.frameSha256)) {
            const img = await frameBySha(ctx, p.device, f.frameSha256);
            if (img) frames.set(f.frameSha256, img.bytes);
          }
        reply
          .type("application/pdf")
          .header("content-disposition", `attachment; filename="patrol-${p.device}-${p.round}.pdf"`);
        return roundPdf(r, frames);
      });
      app.get(`${base}/:device/checkpoints/:checkpoint/trend`, read, async (req) => {
        const p = parseRequest(trendParams, req.params, "params");
        return checkpointTrend(ctx, p.device, p.checkpoint);
      });
      app.get(`${base}/:device/frames/:sha`, read, async (req, reply) => {
        const p = parseRequest(frameParams, req.params, "params");
        const f = await frameBySha(ctx, p.device, p.sha);
        if (!f)
          throw ERR_PATROL_NOT_FOUND(
            `robot '${p.device}' has sent no frame ${p.sha} (or it was evicted before upload)`,
          );
        reply.type(f.mime).header("cache-control", "private, max-age=86400");
        return f.bytes;
      });
      app.post(`${base}/:device/rounds/:round/reviews`, write, async (req, reply) => {
        const p = parseRequest(roundParams, req.params, "params");
        const b = parseRequest(review, req.body);
        const r = await roundReport(ctx, p.device, p.round);
        const f = r.findings.find(
          (x) => x.type === "violation" && x.checkpoint === b.checkpoint && x.check === b.check,
        );
        if (!f) throw ERR_PATROL_REVIEW(`round ${p.round} has no violation ${b.checkpoint}/${b.check}`);
        if (f.review)
          throw ERR_PATROL_REVIEW(`${b.checkpoint}/${b.check} was already reviewed by ${f.review.by}`);
        const row = {
          device: p.device,
          round: p.round,
          checkpoint: b.checkpoint,
          check_id: b.check,
          verdict: b.verdict,
          note: b.note,
          reviewed_by: req.principal?.name ?? "?",
          reviewed_at: ctx.now(),
        };
        // The primary key makes a concurrent second review fail here rather than overwrite the first.
        try {
          await ctx.db.kysely.insertInto("patrol_reviews").values(row).execute();
        } catch {
          throw ERR_PATROL_REVIEW(`${b.checkpoint}/${b.check} was already reviewed`);
        }
        reply.code(201);
        return { ...b, by: row.reviewed_by, at: row.reviewed_at };
      });
      app.post(`${base}/:device/plan`, write, async (req, reply) => {
        const { device } = parseRequest(robot, req.params, "params");
        const b = parseRequest(planBody, req.body);
        const known = await ctx.db.kysely
          .selectFrom("devices")
          .select("id")
          .where("id", "=", device)
          .executeTakeFirst();
        if (!known) throw ERR_PATROL_NOT_FOUND(`device '${device}' is not registered`);
        await ctx.sendCommand(device, "patrol.plan", { plan: b.plan });
        reply.code(202);
        return { device, plan: b.plan.version, sent: true };
      });
    },
  };
}
