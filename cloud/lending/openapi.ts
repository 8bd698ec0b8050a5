import type { z } from "zod";
import { allLendingRoutes as routeTable } from "./routes.ts";

export interface OpenApiRoute {
  path: string;
  method: "get" | "post";
  summary: string;
  /** Roles allowed (admin always). */
  roles: string[];
  body?: z.ZodType;
  query?: z.ZodType;
  response: z.ZodType;
}

/** The lending routes' zod schemas for the lead's /api/docs generator (z.toJSONSchema per schema). */
export const lendingOpenApi: OpenApiRoute[] = routeTable.map((r) => ({
  // OpenAPI writes path parameters as {id}; Fastify as :id.
  path: r.path.replace(/:(\w+)/g, "{$1}"),
  method: r.method === "GET" ? "get" : "post",
  summary: r.summary,
  roles: r.write ? ["officer", "admin"] : ["officer", "auditor", "admin"],
  ...(r.body ? { body: r.body } : {}),
  ...(r.query ? { query: r.query } : {}),
  response: r.response,
}));
