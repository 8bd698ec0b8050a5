import { z } from "zod";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { OpenApiRoute } from "../api/openapi-route.ts";
import { enrolBody, enrolmentBody, rotateBody, tokenBody, tokenParams } from "./routes.ts";

const anyObject = z.record(z.string(), z.unknown());

/** The enrolment and token routes for /api/docs; `public`: no bearer token (the gateway's own). */
export const enrolOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/enrolments",
    method: "post",
    summary: "Make a single-use enrolment token for a device id (shown once)",
    roles: ["admin"],
    body: enrolmentBody,
    status: 201,
    response: anyObject,
  },
  {
    path: "/api/v1/tokens",
    method: "post",
    summary: "Make an API token with a role and an optional expiry (shown once)",
    roles: ["admin"],
    body: tokenBody,
    status: 201,
    response: anyObject,
  },
  {
    path: "/api/v1/tokens",
    method: "get",
    summary: "API tokens made by admins (no secrets)",
    roles: ["admin"],
    response: anyObject,
  },
  {
    path: "/api/v1/tokens/{id}",
    method: "delete",
    summary: "Revoke an API token (it stops working at once)",
    roles: ["admin"],
    params: tokenParams,
    response: z.object({ id: z.string(), revoked: z.literal(true) }),
    errors: [ERR_NOT_FOUND],
  },
  {
    path: "/api/v1/enrol",
    method: "post",
    summary:
      "A gateway enrols: token, public key, optional CSR, signed by the device key (barnlink provision)",
    roles: [],
    public: true,
    body: enrolBody,
    status: 201,
    response: anyObject,
  },
  {
    path: "/api/v1/enrol/rotate",
    method: "post",
    summary: "A gateway replaces its key, signed by the current and the new key (barnlink keys rotate)",
    roles: [],
    public: true,
    body: rotateBody,
    response: anyObject,
  },
];
