import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import { deviceParams, recordsQuery, registerBody, rejectsQuery } from "./evidence-routes.ts";
import type { OpenApiRoute } from "./openapi-route.ts";
import { valuesQuery } from "./value-history.ts";

const anyObject = z.record(z.string(), z.unknown());
const reads = ["admin", "officer", "auditor"];

/** The evidence routes (evidence-routes.ts), described like the others. */
export const evidenceOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/devices",
    method: "get",
    summary: "Registered devices with stream counts, chain state, last seen",
    roles: reads,
    response: anyObject,
  },
  {
    path: "/api/v1/devices",
    method: "post",
    summary: "Register a device's Ed25519 public key",
    roles: ["admin"],
    body: registerBody,
    status: 201,
    response: anyObject,
  },
  {
    path: "/api/v1/devices/{id}",
    method: "get",
    summary:
      "Per stream: committedSeq, count, chain, lastSeen, open gaps, evictions, declared restarts; rejected count",
    roles: reads,
    params: deviceParams,
    response: anyObject,
    errors: [ERR_NOT_FOUND],
  },
  {
    path: "/api/v1/devices/{id}",
    method: "delete",
    summary: "Revoke a device: its key is no longer accepted, its evidence is kept",
    roles: ["admin"],
    params: deviceParams,
    response: z.object({ id: z.string(), revoked: z.literal(true) }),
    errors: [ERR_NOT_FOUND],
  },
  {
    path: "/api/v1/devices/{id}/records",
    method: "get",
    summary: "Records of a stream in seq order, with decoded bodies and times",
    roles: reads,
    params: deviceParams,
    query: recordsQuery,
    response: anyObject,
  },
  {
    path: "/api/v1/devices/{id}/values",
    method: "get",
    summary: "One sensor's values by name: its reading stream and its value in every block record",
    roles: reads,
    params: deviceParams,
    query: valuesQuery,
    response: anyObject,
  },
  {
    path: "/api/v1/rejects",
    method: "get",
    summary: "Rejected messages with code and reason",
    roles: ["admin", "officer", "auditor"],
    query: rejectsQuery,
    response: anyObject,
  },
];
