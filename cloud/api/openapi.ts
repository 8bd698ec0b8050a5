import { z } from "zod";
import { declaredErrors } from "../../core/errors.ts";
import { enrolOpenApi } from "../enrol/openapi.ts";
import { lendingOpenApi, type OpenApiRoute } from "../lending/openapi.ts";
import { recordsQuery, registerBody } from "./evidence-routes.ts";
import { valuesQuery } from "./value-history.ts";

const anyObject = z.record(z.string(), z.unknown());

/** The evidence routes, described like the lending ones. */
const evidenceOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/devices",
    method: "get",
    summary: "Registered devices with stream counts, chain state, last seen",
    roles: ["admin", "officer", "auditor"],
    response: anyObject,
  },
  {
    path: "/api/v1/devices",
    method: "post",
    summary: "Register a device's Ed25519 public key",
    roles: ["admin"],
    body: registerBody,
    response: anyObject,
  },
  {
    path: "/api/v1/devices/{id}",
    method: "get",
    summary:
      "Per stream: committedSeq, count, chain, lastSeen, open gaps, evictions, declared restarts; rejected count",
    roles: ["admin", "officer", "auditor"],
    response: anyObject,
  },
  {
    path: "/api/v1/devices/{id}/records",
    method: "get",
    summary: "Records of a stream in seq order, with decoded bodies and times",
    roles: ["admin", "officer", "auditor"],
    query: recordsQuery,
    response: anyObject,
  },
  {
    path: "/api/v1/devices/{id}/values",
    method: "get",
    summary: "One sensor's values by name: its reading stream and its value in every block record",
    roles: ["admin", "officer", "auditor"],
    query: valuesQuery,
    response: anyObject,
  },
  {
    path: "/api/v1/rejects",
    method: "get",
    summary: "Rejected messages with code and reason",
    roles: ["admin", "officer", "auditor"],
    response: anyObject,
  },
];

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });

/** OpenAPI 3.1, generated from the routes' zod schemas, so it cannot drift from validation. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errors = Object.fromEntries(
    [...new Set(declaredErrors().map((e) => e.statusCode))].map((status) => [
      String(status),
      {
        description: declaredErrors()
          .filter((e) => e.statusCode === status)
          .map((e) => e.code)
          .join(", "),
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    ]),
  );
  for (const r of [...evidenceOpenApi, ...enrolOpenApi, ...lendingOpenApi] as Array<
    OpenApiRoute & { public?: boolean }
  >) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    const query = r.query
      ? (schema(r.query) as { properties?: Record<string, unknown>; required?: string[] })
      : undefined;
    for (const [name, s] of Object.entries(query?.properties ?? {})) {
      params.push({
        name,
        in: "query",
        required: query?.required?.includes(name) ?? false,
        schema: s as { type: string },
      });
    }
    paths[r.path] = paths[r.path] ?? {};
    paths[r.path]![r.method] = {
      summary: r.summary,
      description: r.public
        ? "No bearer token: authenticated by the enrolment token or the device's signature; rate-limited."
        : `Roles: ${r.roles.join(", ")}.`,
      security: r.public ? [] : [{ bearer: [] }],
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schema(r.body) } } } }
        : {}),
      responses: {
        200: { description: "OK", content: { "application/json": { schema: schema(r.response) } } },
        ...errors,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "barnlink cloud API",
      version,
      description:
        "Evidence, devices and the staged feed-payment loan engine. See docs/protocol.md and docs/lending.md.",
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
        },
      },
    },
    paths,
  };
}
