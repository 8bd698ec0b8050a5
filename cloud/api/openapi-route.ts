import type { z } from "zod";

/** A coded error as `defineError` makes it (core/errors.ts): its spec names the code and HTTP status. */
export interface CodedError {
  spec: { code: string; statusCode: number };
}

/** One route as /api/docs describes it (cloud/api/openapi.ts), built from the zod schemas the route validates with. */
export interface OpenApiRoute {
  /** OpenAPI spelling: path parameters as {id}. */
  path: string;
  method: "get" | "post" | "delete";
  summary: string;
  /** Roles allowed (admin always). */
  roles: string[];
  /** No bearer token: the route authenticates by other means (enrolment token, device signature). */
  public?: boolean;
  params?: z.ZodType;
  body?: z.ZodType;
  /** A raw request body of these media types (a binary stream, no JSON schema) instead of `body`. */
  consumes?: string[];
  query?: z.ZodType;
  response: z.ZodType;
  /** The success status (200 unless given). */
  status?: number;
  /** The success body's media type (application/json unless given). */
  produces?: string;
  /** The codes this route answers besides the API's common ones (validation, auth, roles, HTTP). */
  errors?: CodedError[];
}
