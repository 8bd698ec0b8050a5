import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { OpenApiRoute } from "../api/openapi-route.ts";
import { ackBody, seriesQuery } from "./module.ts";

const anyObject = z.record(z.string(), z.unknown());
const reads = ["officer", "auditor", "admin"];

/** The dashboard's JSON routes (module.ts; docs/dashboard.md): what its pages read. */
export const dashboardOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/dashboard/me",
    method: "get",
    summary: "Who the token is: name, role, whether it may write, the cloud's clock",
    roles: ["admin", "officer", "auditor"],
    response: z.object({
      name: z.string().optional(),
      role: z.string().optional(),
      canWrite: z.boolean(),
      now: z.number(),
    }),
  },
  {
    path: "/api/v1/dashboard/portfolio",
    method: "get",
    summary: "Every facility and batch with limits, releases, collateral and open alerts",
    roles: reads,
    response: anyObject,
  },
  {
    path: "/api/v1/dashboard/alerts/ack",
    method: "post",
    summary: "Acknowledge a group of alerts at once (already acknowledged ones keep who and when)",
    roles: ["officer"],
    body: ackBody,
    response: z.object({ acknowledged: z.number() }),
  },
  {
    path: "/api/v1/dashboard/payment-files",
    method: "get",
    summary: "The latest 100 payment files (id, order count, control sum, created)",
    roles: reads,
    response: z.array(anyObject),
  },
  {
    path: "/api/v1/dashboard/batches/{id}/series",
    method: "get",
    summary: "A batch's charts: sensor series downsampled to ?points=, against the species profile",
    roles: reads,
    query: seriesQuery,
    response: anyObject,
    errors: [ERR_NOT_FOUND],
  },
];
