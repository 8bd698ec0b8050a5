import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { OpenApiRoute } from "../api/openapi-route.ts";
import { ERR_FLEET_NOT_QUEUED } from "./errors.ts";
import { configBody, params, statusBody } from "./routes.ts";

const sent = { command: z.string(), device: z.string(), state: z.literal("sent") };
/** `state`: sent, then what the gateway's records say (accepted, applied, rolled back, rejected), or expired. */
const request = { id: z.string(), requestedBy: z.string(), requestedAt: z.number(), state: z.string() };

/** What GET /api/v1/devices/{id}/fleet answers (view.ts): outcomes from the gateway's signed records. */
export const fleetViewSchema = z.object({
  device: z.string(),
  config: z.object({
    running: z.object({ sha256: z.unknown(), command: z.unknown(), since: z.number() }).nullable(),
    requests: z.array(
      z.object({
        ...request,
        sha256: z.string().nullable(),
        /** The config sent, its secret values blanked. */
        config: z.string().nullable(),
        at: z.number().nullable(),
        errors: z.unknown().optional(),
        reason: z.unknown().optional(),
      }),
    ),
  }),
  status: z.object({
    requests: z.array(z.object(request)),
    /** The newest status report: its id, times and the gateway's own detail (health, streams, log lines). */
    latest: z
      .looseObject({ id: z.unknown(), at: z.number(), receivedAt: z.number(), seq: z.number() })
      .nullable(),
  }),
});

/** Fleet operations on a gateway (routes.ts; docs/fleet.md). Admins only. */
export const fleetOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/devices/{id}/config",
    method: "post",
    summary:
      "Send a gateway a new agent config (config.apply): it validates, applies, and rolls back if unhealthy",
    roles: ["admin"],
    params,
    body: configBody,
    status: 202,
    response: z.object({ ...sent, sha256: z.string() }),
    errors: [ERR_NOT_FOUND, ERR_FLEET_NOT_QUEUED],
  },
  {
    path: "/api/v1/devices/{id}/status-request",
    method: "post",
    summary: "Ask a gateway for its status and recent log (status.report)",
    roles: ["admin"],
    params,
    body: statusBody,
    status: 202,
    response: z.object(sent),
    errors: [ERR_NOT_FOUND, ERR_FLEET_NOT_QUEUED],
  },
  {
    path: "/api/v1/devices/{id}/fleet",
    method: "get",
    summary:
      "A gateway's fleet requests and what became of each, the config it runs, its latest status report",
    roles: ["admin"],
    params,
    response: fleetViewSchema,
    errors: [ERR_NOT_FOUND],
  },
];
