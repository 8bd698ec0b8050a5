import { z } from "zod";
import {
  declaredErrors,
  ERR_FORBIDDEN,
  ERR_INTERNAL,
  ERR_UNAUTHORIZED,
  ERR_VALIDATION,
} from "../../core/errors.ts";
import { dashboardOpenApi } from "../dashboard/openapi.ts";
import { enrolOpenApi } from "../enrol/openapi.ts";
import { fleetOpenApi } from "../fleet/openapi.ts";
import { lendingOpenApi } from "../lending/openapi.ts";
import { modelsOpenApi } from "../models/openapi.ts";
import { patrolOpenApi } from "../patrol/openapi.ts";
import {
  ERR_HTTP_BAD_REQUEST,
  ERR_HTTP_PAYLOAD_TOO_LARGE,
  ERR_HTTP_RATE_LIMITED,
  ERR_HTTP_UNSUPPORTED_MEDIA,
} from "./errors.ts";
import { evidenceOpenApi } from "./evidence-openapi.ts";
import type { CodedError, OpenApiRoute } from "./openapi-route.ts";

/** Every documented route, in the document's order. */
export const apiRoutes = (): OpenApiRoute[] => [
  ...evidenceOpenApi,
  ...fleetOpenApi,
  ...enrolOpenApi,
  ...lendingOpenApi,
  ...dashboardOpenApi,
  ...modelsOpenApi,
  ...patrolOpenApi,
];

/** What any route can answer before (or besides) its own codes: bad requests, auth, roles, the HTTP layer. */
const COMMON: CodedError[] = [
  ERR_VALIDATION,
  ERR_HTTP_BAD_REQUEST,
  ERR_UNAUTHORIZED,
  ERR_FORBIDDEN,
  ERR_HTTP_PAYLOAD_TOO_LARGE,
  ERR_HTTP_UNSUPPORTED_MEDIA,
  ERR_HTTP_RATE_LIMITED,
  ERR_INTERNAL,
];

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
type ObjectSchema = { properties?: Record<string, unknown>; required?: string[] };

/** Error responses by status, each naming its codes: a route's own and the common ones, else every declared code. */
function errorResponses(r: OpenApiRoute): { codes: string[]; responses: Record<string, unknown> } {
  const specs = r.errors
    ? [...COMMON, ...r.errors].map((e) => e.spec).filter((e) => !(r.public && e.code === "BL_UNAUTHORIZED"))
    : declaredErrors();
  const codes = [...new Set(specs.map((e) => e.code))].sort();
  const responses: Record<string, unknown> = {};
  for (const status of [...new Set(specs.map((e) => e.statusCode))].sort((a, b) => a - b))
    responses[String(status)] = {
      description: codes.filter((c) => specs.find((e) => e.code === c)!.statusCode === status).join(", "),
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  return { codes, responses };
}

function parameters(r: OpenApiRoute): Array<Record<string, unknown>> {
  const path = r.params ? (schema(r.params) as ObjectSchema) : undefined;
  const params: Array<Record<string, unknown>> = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: path?.properties?.[m[1]!] ?? { type: "string" },
  }));
  const query = r.query ? (schema(r.query) as ObjectSchema) : undefined;
  for (const [name, s] of Object.entries(query?.properties ?? {}))
    params.push({ name, in: "query", required: query?.required?.includes(name) ?? false, schema: s });
  return params;
}

function operation(r: OpenApiRoute): Record<string, unknown> {
  const params = parameters(r);
  const errors = errorResponses(r);
  const produces = r.produces ?? "application/json";
  const body = produces === "application/json" ? schema(r.response) : { type: "string", format: "binary" };
  return {
    summary: r.summary,
    description: r.public
      ? "No bearer token: authenticated by the enrolment token or the device's signature; rate-limited."
      : `Roles: ${r.roles.join(", ")}.`,
    security: r.public ? [] : [{ bearer: [] }],
    ...(params.length ? { parameters: params } : {}),
    ...(r.body
      ? { requestBody: { required: true, content: { "application/json": { schema: schema(r.body) } } } }
      : {}),
    ...(r.consumes
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(
              r.consumes.map((t) => [t, { schema: { type: "string", format: "binary" } }]),
            ),
          },
        }
      : {}),
    responses: {
      [String(r.status ?? 200)]: { description: "OK", content: { [produces]: { schema: body } } },
      ...errors.responses,
    },
    // The codes this route can answer (docs/errors.md), for clients that switch on them.
    "x-error-codes": errors.codes,
  };
}

/** OpenAPI 3.1, generated from the routes' zod schemas, so it cannot drift from validation. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of apiRoutes()) {
    paths[r.path] = paths[r.path] ?? {};
    paths[r.path]![r.method] = operation(r);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "barnlink cloud API",
      version,
      description:
        "Evidence, devices, fleet operations, the staged feed-payment loan engine, models and patrol robots. See docs/protocol.md and docs/lending.md.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          properties: {
            error: {
              type: "object",
              properties: { code: { type: "string" }, message: { type: "string" } },
              required: ["code", "message"],
            },
          },
          required: ["error"],
        },
      },
    },
    paths,
  };
}
