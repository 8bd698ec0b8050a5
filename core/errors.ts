/**
 * Coded errors, in the manner of Fastify's FST_ERR_*: every error a user can see has a stable
 * code, an HTTP status and a message. Codes are listed in docs/errors.md (a test checks), and a
 * retired code is never reused.
 */
export class BarnlinkError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details?: unknown;
  constructor(code: string, message: string, statusCode = 500, details?: unknown, options?: ErrorOptions) {
    super(message, options);
    this.name = "BarnlinkError";
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
  }
}

export interface ErrorSpec {
  readonly code: string;
  readonly statusCode: number;
  readonly description: string;
}

const registry = new Map<string, ErrorSpec>();

/** Declares an error code once; returns a factory that builds errors carrying it. */
export function defineError(code: string, statusCode: number, description: string) {
  // A programming error caught at module load (two modules claim one code), never a user's.
  if (registry.has(code)) throw new Error(`error code ${code} declared twice`);
  const spec: ErrorSpec = { code, statusCode, description };
  registry.set(code, spec);
  const make = (message: string, details?: unknown, cause?: unknown) =>
    new BarnlinkError(code, message, statusCode, details, cause === undefined ? undefined : { cause });
  return Object.assign(make, { spec, is: (e: unknown): e is BarnlinkError => isCode(e, code) });
}

export function isCode(e: unknown, code: string): e is BarnlinkError {
  return e instanceof BarnlinkError && e.code === code;
}

export function declaredErrors(): ErrorSpec[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

// ---- codes shared by every part -------------------------------------------------------------
export const ERR_CONFIG_INVALID = defineError(
  "BL_CONFIG_INVALID",
  400,
  "A configuration file failed validation.",
);
export const ERR_CONFIG_READ = defineError(
  "BL_CONFIG_READ",
  400,
  "A configuration file could not be read or parsed.",
);
export const ERR_USAGE = defineError("BL_USAGE", 400, "A command-line argument is missing or wrong.");
export const ERR_BAD_BATCH = defineError(
  "BL_BAD_BATCH",
  400,
  "An up-batch could not be decoded or failed its schema.",
);
export const ERR_CHAIN_BROKEN = defineError(
  "BL_CHAIN_BROKEN",
  422,
  "Records do not hash-chain to the signed head.",
);
export const ERR_BAD_SIGNATURE = defineError(
  "BL_BAD_SIGNATURE",
  422,
  "A signature did not verify against the registered key.",
);
export const ERR_UNREGISTERED_DEVICE = defineError(
  "BL_UNREGISTERED_DEVICE",
  403,
  "Data came from a device that is not registered.",
);
export const ERR_SEQ_CONFLICT = defineError(
  "BL_SEQ_CONFLICT",
  409,
  "A record reuses a stored (device, stream, seq) with different content.",
);
export const ERR_STALE_GENERATION = defineError(
  "BL_STALE_GENERATION",
  409,
  "A segment belongs to a stream generation a declared restart already closed.",
);
export const ERR_TOPIC_MISMATCH = defineError(
  "BL_TOPIC_MISMATCH",
  422,
  "The batch's device differs from the device in its topic.",
);
export const ERR_NOT_FOUND = defineError("BL_NOT_FOUND", 404, "The requested object does not exist.");
export const ERR_UNAUTHORIZED = defineError("BL_UNAUTHORIZED", 401, "No valid bearer token was given.");
export const ERR_FORBIDDEN = defineError("BL_FORBIDDEN", 403, "The token's role may not do this.");
export const ERR_VALIDATION = defineError(
  "BL_VALIDATION",
  400,
  "A request failed validation; the message names the field.",
);
export const ERR_CONFLICT = defineError(
  "BL_CONFLICT",
  409,
  "The request conflicts with stored state (for example a reused idempotency key).",
);
export const ERR_KEY = defineError(
  "BL_KEY",
  500,
  "A key file is missing, unreadable or has unsafe permissions.",
);
export const ERR_BAD_RECORD = defineError(
  "BL_BAD_RECORD",
  400,
  "A record body does not match its kind's schema.",
);
export const ERR_STORAGE = defineError("BL_STORAGE", 500, "The local store failed.");
export const ERR_INTERNAL = defineError(
  "BL_INTERNAL",
  500,
  "An unexpected server error; details are in the log, not the response.",
);
export const ERR_INSTALL = defineError(
  "BL_INSTALL",
  500,
  "The barnlink installation is incomplete: no package.json named barnlink above the running code.",
);
