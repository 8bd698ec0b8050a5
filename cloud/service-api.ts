import type { FastifyInstance, RouteOptions } from "fastify";
import type { ApiToken } from "./api/auth.ts";
import { type ApiModule, buildServer } from "./api/server.ts";
import type { CloudConfig } from "./config.ts";
import type { CloudContext } from "./context.ts";
import type { DeviceKeys } from "./devices.ts";
import { DbTokens } from "./enrol/api-tokens.ts";
import { enrolRoutes } from "./enrol/routes.ts";

/**
 * The cloud's HTTP API exactly as the service serves it: `buildServer` with the enrolment module and
 * its public routes, API tokens from the config and the database, then `modules` (what
 * `barnlink cloud run` mounts). The one place it is put together: cloud/service.ts calls it, and
 * so do the tests of the production API (test/helpers/cloud-api.ts), so they cannot drift apart.
 */
export async function serviceApi(
  config: Pick<CloudConfig, "enrol">,
  ctx: CloudContext,
  tokens: ApiToken[],
  keys: DeviceKeys,
  o: {
    modules?: ApiModule[];
    health?: () => Record<string, unknown>;
    authFailuresPerMinute?: number;
    /** Called for every route registered, the public ones included (tests list them). */
    onRoute?: (r: RouteOptions) => void;
  } = {},
): Promise<FastifyInstance> {
  const enrolment = enrolRoutes(config.enrol, ctx, keys);
  const onRoute = o.onRoute;
  const recorder: ApiModule[] = onRoute
    ? [
        {
          async routes() {},
          async publicRoutes(app: FastifyInstance) {
            app.addHook("onRoute", onRoute);
          },
        },
      ]
    : [];
  return buildServer(ctx, tokens, {
    keys,
    modules: [...recorder, enrolment.module, ...(o.modules ?? [])],
    tokenStore: new DbTokens(ctx.db, ctx.now),
    publicApi: enrolment.publicApi,
    ...(o.health ? { health: o.health } : {}),
    ...(o.authFailuresPerMinute ? { authFailuresPerMinute: o.authFailuresPerMinute } : {}),
  });
}
