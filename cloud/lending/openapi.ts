import type { OpenApiRoute } from "../api/openapi-route.ts";
import { allLendingRoutes as routeTable } from "./routes.ts";

export type { OpenApiRoute } from "../api/openapi-route.ts";

/** The lending routes' zod schemas for the /api/docs generator (cloud/api/openapi.ts). */
export const lendingOpenApi: OpenApiRoute[] = routeTable.map((r) => ({
  // OpenAPI writes path parameters as {id}; Fastify as :id.
  path: r.path.replace(/:(\w+)/g, "{$1}"),
  method: r.method === "GET" ? "get" : "post",
  summary: r.summary,
  roles: r.write ? ["officer", "admin"] : ["officer", "auditor", "admin"],
  ...(r.body ? { body: r.body } : {}),
  ...(r.query ? { query: r.query } : {}),
  ...(r.status ? { status: r.status } : {}),
  response: r.response,
}));
