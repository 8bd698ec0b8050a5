import Fastify, { type FastifyInstance } from "fastify";
import { BarnlinkError } from "../../core/errors.ts";
import type { CloudContext } from "../context.ts";
import type { DeviceKeys } from "../devices.ts";
import { type ApiToken, requireAuth } from "./auth.ts";
import { evidenceRoutes } from "./evidence-routes.ts";
import { openApiDocument } from "./openapi.ts";
import { demoPage } from "./page.ts";

export interface ApiModule {
  /** Registers routes under /api/v1 (auth already applied). */
  routes(app: FastifyInstance, ctx: CloudContext): Promise<void>;
  /** Registers routes outside the authenticated scope (the dashboard's static pages). */
  publicRoutes?(app: FastifyInstance, ctx: CloudContext): Promise<void>;
}

/**
 * The cloud's HTTP API (Fastify). Every /api route needs a bearer token; errors are
 * {error: {code, message}} with the code's HTTP status (docs/errors.md).
 */
export async function buildServer(
  ctx: CloudContext,
  tokens: ApiToken[],
  opts: { keys?: DeviceKeys; modules?: ApiModule[]; health?: () => Record<string, unknown> } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.setErrorHandler((e, req, reply) => {
    const err = e as Error & { statusCode?: number };
    if (err instanceof BarnlinkError) {
      reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
      return;
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) ctx.log.error({ err: err.stack, url: req.url }, "request failed");
    const code =
      status === 400
        ? "BL_VALIDATION"
        : status === 404
          ? "BL_NOT_FOUND"
          : status === 415
            ? "BL_VALIDATION"
            : "BL_INTERNAL";
    reply.code(status).send({ error: { code, message: status >= 500 ? "internal error" : err.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: "BL_NOT_FOUND", message: `no route ${req.method} ${req.url}` } });
  });
  app.get("/healthz", async () => ({ ok: true, ...(opts.health?.() ?? {}) }));
  // The API's description is public: it holds no data, and integrators read it before they have a token.
  const openapi = openApiDocument("1");
  app.get("/api/docs", async () => openapi);
  // The device list stays at /devices; `/` is the dashboard when its module is mounted.
  app.get("/devices", async (_req, reply) => reply.type("text/html; charset=utf-8").send(demoPage()));
  for (const m of opts.modules ?? []) await m.publicRoutes?.(app, ctx);
  if (!app.hasRoute({ method: "GET", url: "/" }))
    app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(demoPage()));
  await app.register(async (api) => {
    api.addHook("onRequest", requireAuth(tokens));
    await evidenceRoutes(api, ctx, opts.keys);
    for (const m of opts.modules ?? []) await m.routes(api, ctx);
  });
  return app;
}
