import type { FastifyInstance, RouteOptions } from "fastify";
import type { ApiToken } from "../../cloud/api/auth.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import type { CloudContext } from "../../cloud/context.ts";
import { DeviceKeys } from "../../cloud/devices.ts";
import { cloudModules, type ModuleOptions } from "../../cloud/modules.ts";
import { serviceApi } from "../../cloud/service-api.ts";

/**
 * The cloud's HTTP API as `startCloud` (cloud/service.ts) builds it, through the same factory
 * (cloud/service-api.ts: enrolment module and public routes, API tokens from the database) with
 * every module of `cloudModules` (`barnlink cloud run`): the real auth, rate limit, error mapping
 * and hooks, without MQTT and without listening (use `app.inject`). Jobs are not started.
 */
export async function productionApi(
  ctx: CloudContext,
  tokens: ApiToken[],
  o: {
    modules?: ModuleOptions;
    authFailuresPerMinute?: number;
    /** Called for every route Fastify registers, the public ones included. */
    onRoute?: (r: RouteOptions) => void;
  } = {},
): Promise<FastifyInstance> {
  const app = await serviceApi(cloudConfigSchema.parse({}), ctx, tokens, new DeviceKeys(ctx.db), {
    modules: cloudModules(o.modules).modules,
    ...(o.authFailuresPerMinute ? { authFailuresPerMinute: o.authFailuresPerMinute } : {}),
    ...(o.onRoute ? { onRoute: o.onRoute } : {}),
  });
  await app.ready();
  return app;
}
