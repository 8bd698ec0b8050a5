import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { ident } from "../../core/zod-helpers.ts";
import { requireRole } from "../api/auth.ts";
import type { ApiModule } from "../api/server.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import { ERR_FLEET_NOT_QUEUED } from "./errors.ts";
import { redactConfig } from "./redact.ts";
import { fleetView } from "./view.ts";

export const params = z.strictObject({ id: ident() });
export const configBody = z.strictObject({
  /** The whole agent config as YAML (what `/etc/barnlink/agent.yaml` holds). */
  config: z
    .string()
    .min(1)
    .max(256 * 1024),
  /** How long the gateway gives the new config to come up healthy before it rolls back ("60s"). */
  deadline: z
    .union([z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m)?$/), z.number().int().min(1000).max(600_000)])
    .optional(),
});
export const statusBody = z.strictObject({
  lines: z.number().int().min(0).max(500).optional(),
  level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).optional(),
});

async function mustExist(ctx: CloudContext, id: string) {
  const d = await ctx.db.kysely
    .selectFrom("devices")
    .select(["id", "revoked_at"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!d || d.revoked_at !== null) throw ERR_NOT_FOUND(`device '${id}' is not registered`);
}

/**
 * Fleet operations for installers (docs/fleet.md): send a gateway a new config (`config.apply`,
 * validated and rolled back by the gateway itself) or ask it for its status and recent log
 * (`status.report`); read back what it answered, from its signed records. Admins only: a config
 * can hold the broker password and a log tells a lot about a farm.
 */
export function fleetModule(): ApiModule {
  return {
    async routes(app: FastifyInstance, ctx: CloudContext) {
      const admin = { preHandler: requireRole("admin") };
      const send = async (device: string, name: string, args: Record<string, unknown>) => {
        const id = await ctx.sendCommand(device, name, args);
        if (typeof id !== "string")
          throw ERR_FLEET_NOT_QUEUED("this cloud sends commands without keeping them");
        return id;
      };
      app.post("/api/v1/devices/:id/config", admin, async (req, reply) => {
        const { id } = parseRequest(params, req.params, "params");
        const b = parseRequest(configBody, req.body ?? {}, "body");
        await mustExist(ctx, id);
        const sha256 = createHash("sha256").update(b.config).digest("hex");
        const command = await send(id, "config.apply", {
          config: b.config,
          sha256,
          ...(b.deadline !== undefined ? { deadline: b.deadline } : {}),
        });
        await ctx.db.kysely
          .insertInto("fleet_requests")
          .values({
            id: command,
            device: id,
            name: "config.apply",
            requested_by: req.principal?.name ?? "?",
            requested_at: ctx.now(),
            config_sha256: sha256,
            config_redacted: redactConfig(b.config),
          })
          .execute();
        reply.code(202);
        return { command, device: id, sha256, state: "sent" };
      });
      app.post("/api/v1/devices/:id/status-request", admin, async (req, reply) => {
        const { id } = parseRequest(params, req.params, "params");
        const b = parseRequest(statusBody, req.body ?? {}, "body");
        await mustExist(ctx, id);
        const command = await send(id, "status.report", b);
        await ctx.db.kysely
          .insertInto("fleet_requests")
          .values({
            id: command,
            device: id,
            name: "status.report",
            requested_by: req.principal?.name ?? "?",
            requested_at: ctx.now(),
            config_sha256: null,
            config_redacted: null,
          })
          .execute();
        reply.code(202);
        return { command, device: id, state: "sent" };
      });
      app.get("/api/v1/devices/:id/fleet", admin, async (req) => {
        const { id } = parseRequest(params, req.params, "params");
        await mustExist(ctx, id);
        return fleetView(ctx, id);
      });
    },
  };
}
