import type { FastifyInstance, RouteOptions } from "fastify";
import type { ApiToken } from "../../cloud/api/auth.ts";
import { buildServer } from "../../cloud/api/server.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import type { CloudContext } from "../../cloud/context.ts";
import { DeviceKeys } from "../../cloud/devices.ts";
import { DbTokens } from "../../cloud/enrol/api-tokens.ts";
import { enrolRoutes } from "../../cloud/enrol/routes.ts";
import { cloudModules, type ModuleOptions } from "../../cloud/modules.ts";

/**
 * The cloud's HTTP API as `startCloud` (cloud/service.ts) builds it: `buildServer` with the
 * enrolment module and its public routes, API tokens from the database, and every module of
 * `cloudModules` (`barnlink cloud run`): the real auth, rate limit, error mapping and hooks, without
 * MQTT and without listening (use `app.inject`). Jobs are not started.
 */
export async function productionApi(
  ctx: CloudContext,
  tokens: ApiToken[],
  o: {
    modules?: ModuleOptions;
    authFailuresPerMinute?: number;
    /** Called for every route Fastify registers after the service's first public route. */
    onRoute?: (r: RouteOptions) => void;
  } = {},
): Promise<FastifyInstance> {
  const keys = new DeviceKeys(ctx.db);
  const enrolment = enrolRoutes(cloudConfigSchema.parse({}).enrol, ctx, keys);
  const recorder = {
    async routes() {},
    async publicRoutes(app: FastifyInstance) {
      if (o.onRoute) app.addHook("onRoute", o.onRoute);
    },
  };
  const app = await buildServer(ctx, tokens, {
    keys,
    modules: [recorder, enrolment.module, ...cloudModules(o.modules).modules],
    tokenStore: new DbTokens(ctx.db, ctx.now),
    publicApi: enrolment.publicApi,
    ...(o.authFailuresPerMinute ? { authFailuresPerMinute: o.authFailuresPerMinute } : {}),
  });
  await app.ready();
  return app;
}
