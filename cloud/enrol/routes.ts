import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ERR_NOT_FOUND, ERR_VALIDATION } from "../../core/errors.ts";
import { duration, ident } from "../../core/zod-helpers.ts";
import { requireRole } from "../api/auth.ts";
import { ERR_HTTP_RATE_LIMITED } from "../api/errors.ts";
import type { ApiModule } from "../api/server.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudConfig } from "../config.ts";
import type { CloudContext } from "../context.ts";
import type { DeviceKeys } from "../devices.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "./api-tokens.ts";
import { enrol } from "./enrol.ts";
import { createEnrolmentToken } from "./enrolment-tokens.ts";
import { rotateKey } from "./rotate.ts";

const b64 = z.string().max(200);
export const enrolBody = z.strictObject({
  device: ident(),
  token: z.string().min(1).max(200),
  publicKey: b64,
  csr: z.string().max(8192).optional(),
  at: z.number().int(),
  signature: b64,
});
export const rotateBody = z.strictObject({
  device: ident(),
  publicKey: b64,
  at: z.number().int(),
  signature: b64,
  newSignature: b64,
});
const role = z.enum(["admin", "officer", "auditor"]);
export const enrolmentBody = z.strictObject({ device: ident(), ttl: duration().optional() });
export const tokenParams = z.object({ id: z.string().min(1).max(64) });
export const tokenBody = z.strictObject({
  name: z.string().min(1).max(100),
  role,
  ttl: duration().optional(),
});

/**
 * Enrolment, rotation and API-token routes. Admin routes (`/api/v1/enrolments`, `/api/v1/tokens`)
 * sit in the authenticated scope; a gateway's own (`/api/v1/enrol`, `/api/v1/enrol/rotate`)
 * authenticate by the enrolment token or the device key and have a rate limit of their own.
 */
export function enrolRoutes(
  cfg: CloudConfig["enrol"],
  ctx: CloudContext,
  keys: DeviceKeys,
): { module: ApiModule; publicApi: (app: FastifyInstance) => Promise<void> } {
  const settings = () => ({
    cloudPublicKey: ctx.key.publicKeyB64,
    mqttUrl: cfg.mqttUrl,
    caDir: cfg.caDir,
    certDays: cfg.certDays,
  });
  return {
    module: {
      async routes(app, c) {
        const admin = { preHandler: requireRole("admin") };
        app.post("/api/v1/enrolments", admin, async (req, reply) => {
          const b = parseRequest(enrolmentBody, req.body ?? {});
          const ttlMs = b.ttl ?? cfg.ttl;
          if (ttlMs <= 0 || ttlMs > cfg.maxTtl)
            throw ERR_VALIDATION(`body.ttl: must be more than 0 and at most enrol.maxTtl (${cfg.maxTtl} ms)`);
          const t = await createEnrolmentToken(
            c.db,
            { device: b.device, ttlMs, createdBy: req.principal!.name },
            c.now(),
          );
          reply.code(201);
          return t;
        });
        app.post("/api/v1/tokens", admin, async (req, reply) => {
          const b = parseRequest(tokenBody, req.body ?? {});
          if (b.ttl !== undefined && b.ttl <= 0) throw ERR_VALIDATION("body.ttl: must be more than 0");
          const t = await createApiToken(
            c.db,
            { name: b.name, role: b.role, ttlMs: b.ttl, createdBy: req.principal!.name },
            c.now(),
          );
          reply.code(201);
          return t;
        });
        app.get("/api/v1/tokens", admin, async () => ({ tokens: await listApiTokens(c.db) }));
        app.delete("/api/v1/tokens/:id", admin, async (req) => {
          const { id } = parseRequest(tokenParams, req.params, "params");
          if (!(await revokeApiToken(c.db, id, c.now())))
            throw ERR_NOT_FOUND(`no live API token with id '${id}'`);
          return { id, revoked: true };
        });
      },
    },
    async publicApi(app) {
      // Enrolment is rare: 20 requests a minute per address, successful or not.
      await app.register(rateLimit, {
        max: 20,
        timeWindow: 60_000,
        errorResponseBuilder: (_req, r) =>
          ERR_HTTP_RATE_LIMITED(`too many enrolment requests from this address; retry in ${r.after}`),
      });
      app.post("/api/v1/enrol", async (req, reply) => {
        const b = parseRequest(enrolBody, req.body ?? {});
        const a = await enrol(ctx.db, b, settings(), ctx.now());
        keys.forget(b.device);
        ctx.log.info({ device: b.device }, "device enrolled");
        reply.code(201);
        return a;
      });
      app.post("/api/v1/enrol/rotate", async (req) => {
        const b = parseRequest(rotateBody, req.body ?? {});
        const a = await rotateKey(
          ctx.db,
          b,
          { cloudPublicKey: ctx.key.publicKeyB64, overlapMs: cfg.rotationOverlap, mqttUrl: cfg.mqttUrl },
          ctx.now(),
        );
        keys.forget(b.device);
        ctx.log.info({ device: b.device, overlapUntil: a.overlapUntil }, "device key rotated");
        return a;
      });
    },
  };
}
