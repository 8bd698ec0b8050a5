import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance } from "fastify";
import type { CloudContext } from "../context.ts";
import type { DeviceKeys } from "../devices.ts";
import { type ApiToken, requireAuth, resolvePrincipal, type TokenStore } from "./auth.ts";
import { ERR_HTTP_RATE_LIMITED, toApiError } from "./errors.ts";
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
  opts: {
    keys?: DeviceKeys;
    modules?: ApiModule[];
    health?: () => Record<string, unknown>;
    /** Requests without a valid token accepted per address per minute (then 429). */
    authFailuresPerMinute?: number;
    /** API tokens in the database (cloud/enrol/), besides the config's. */
    tokenStore?: TokenStore;
    /** Routes that authenticate by other means than a bearer token (enrolment), in their own scope. */
    publicApi?: (app: FastifyInstance) => Promise<void>;
  } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.setErrorHandler((e, req, reply) => {
    const r = toApiError(e);
    if (r.status >= 500)
      ctx.log.error({ err: (e as Error)?.stack, url: req.url.split("?")[0] }, "request failed");
    reply.code(r.status).send({ error: { code: r.code, message: r.message } });
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
  if (opts.publicApi) await app.register(opts.publicApi);
  await app.register(async (api) => {
    // Failed authentication is rate-limited per address: a request with a valid token is never
    // counted, so guessing tokens is slow and a working client is never throttled.
    await api.register(rateLimit, {
      max: opts.authFailuresPerMinute ?? 30,
      timeWindow: 60_000,
      allowList: async (req) => {
        const p = await resolvePrincipal(req, tokens, opts.tokenStore);
        return p !== null && !(p instanceof Error);
      },
      errorResponseBuilder: (_req, c) =>
        ERR_HTTP_RATE_LIMITED(`too many failed authentications from this address; retry in ${c.after}`),
    });
    // preParsing: after the rate limit (a route-level onRequest hook), before any body is read.
    api.addHook("preParsing", requireAuth(tokens, opts.tokenStore));
    await evidenceRoutes(api, ctx, opts.keys);
    for (const m of opts.modules ?? []) await m.routes(api, ctx);
  });
  return app;
}
