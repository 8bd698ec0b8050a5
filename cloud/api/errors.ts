import { BarnlinkError, defineError } from "../../core/errors.ts";

/** HTTP-level errors: what Fastify (or a plugin) refuses before a route runs (docs/errors.md). */
export const ERR_HTTP_BAD_REQUEST = defineError(
  "BL_HTTP_BAD_REQUEST",
  400,
  "The request could not be read: malformed JSON, an empty JSON body, a bad URL or header.",
);
export const ERR_HTTP_PAYLOAD_TOO_LARGE = defineError(
  "BL_HTTP_PAYLOAD_TOO_LARGE",
  413,
  "The request body is larger than the API accepts (4 MiB).",
);
export const ERR_HTTP_UNSUPPORTED_MEDIA = defineError(
  "BL_HTTP_UNSUPPORTED_MEDIA",
  415,
  "The request body's Content-Type is not one the API reads (send application/json).",
);
export const ERR_HTTP_METHOD = defineError("BL_HTTP_METHOD", 405, "The method is not allowed on this path.");
export const ERR_HTTP_RATE_LIMITED = defineError(
  "BL_HTTP_RATE_LIMITED",
  429,
  "Too many failed authentication attempts from this address; wait and retry.",
);

/**
 * Any error a request ends in, as the documented shape's code, status and message. Fastify's own
 * errors (FST_ERR_*) and plugins' carry a statusCode: a 4xx becomes its BL_HTTP_* code with
 * Fastify's message (it names what is wrong); anything else is BL_INTERNAL without details.
 */
export function toApiError(e: unknown): { status: number; code: string; message: string } {
  if (e instanceof BarnlinkError) return { status: e.statusCode, code: e.code, message: e.message };
  const err = e as Error & { statusCode?: number; code?: string; validation?: unknown };
  const status = typeof err?.statusCode === "number" ? err.statusCode : 500;
  const message = String(err?.message ?? "").slice(0, 500);
  if (status >= 500 || status < 400) return { status: 500, code: "BL_INTERNAL", message: "internal error" };
  if (err.validation || err.code === "FST_ERR_VALIDATION")
    return { status: 400, code: "BL_VALIDATION", message };
  const byStatus: Record<number, string> = {
    401: "BL_UNAUTHORIZED",
    403: "BL_FORBIDDEN",
    404: "BL_NOT_FOUND",
    405: ERR_HTTP_METHOD.spec.code,
    409: "BL_CONFLICT",
    413: ERR_HTTP_PAYLOAD_TOO_LARGE.spec.code,
    415: ERR_HTTP_UNSUPPORTED_MEDIA.spec.code,
    429: ERR_HTTP_RATE_LIMITED.spec.code,
  };
  return { status, code: byStatus[status] ?? ERR_HTTP_BAD_REQUEST.spec.code, message };
}
