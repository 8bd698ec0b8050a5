import { z } from "zod";
import { canonicalJson } from "../core/canonical.ts";

/**
 * Record kinds: one zod schema per kind, and the priority class that decides eviction and send
 * order. `alarm` and `evidence` are never evicted; `telemetry` and `media` may be, oldest first,
 * media before telemetry. Add a kind here (one entry) with its schema and class.
 */
export type PriorityClass = "alarm" | "evidence" | "telemetry" | "media";

/** Lower sends first. */
export const PRIORITY: Record<PriorityClass, number> = { alarm: 0, evidence: 1, telemetry: 2, media: 3 };

const finite = () => z.number().refine(Number.isFinite, "must be a finite number");

export const kinds = {
  /** One sensor value. The stream names the sensor (e.g. "env.temperature"). */
  reading: {
    class: "telemetry",
    schema: z.strictObject({
      value: finite(),
      unit: z.string().max(16),
      quality: z.enum(["ok", "suspect"]).optional(),
    }),
  },
  /**
   * Several sensor values read together (one Modbus register block): named values and their units,
   * one record instead of one per value. The cloud keeps each value's history queryable by name
   * (cloud/api/value-history.ts). Names are the sensors' stream names (e.g. "env.temperature").
   */
  block: {
    class: "telemetry",
    schema: z.strictObject({
      values: z
        .record(z.string().min(1).max(64), finite())
        .refine((v) => Object.keys(v).length > 0 && Object.keys(v).length <= 256, "1 to 256 values"),
      units: z.record(z.string().min(1).max(64), z.string().max(16)).optional(),
      quality: z.enum(["ok", "suspect"]).optional(),
    }),
  },
  /** A discrete input changed state (door, leak, tamper, dock). */
  event: {
    class: "evidence",
    schema: z.strictObject({
      input: z.string().max(64),
      state: z.union([z.boolean(), z.string().max(64)]),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  },
  /** An alarm raised or cleared. */
  alarm: {
    class: "alarm",
    schema: z.strictObject({
      code: z.string().max(64),
      severity: z.enum(["info", "warning", "critical"]),
      subject: z.string().max(128),
      active: z.boolean(),
      message: z.string().max(1000),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  },
  /** Head count for a barn over a window: the evidence loan gates read. */
  census: {
    class: "evidence",
    schema: z.strictObject({
      barn: z.string().max(64),
      from: z.number().int(),
      to: z.number().int(),
      count: z.number().int().nonnegative(),
      method: z.enum(["faces", "sensor", "manual", "simulated"]),
      pigs: z.array(z.string().max(64)).optional(),
      unseen: z.array(z.string().max(64)).optional(),
      unknown: z.number().int().nonnegative().optional(),
      /** method "faces": the matcher's threshold on this herd and what it buys (models/pipeline/threshold.ts). */
      operatingPoint: z
        .strictObject({
          threshold: z.number(),
          far: z.number(),
          source: z.enum(["herd", "card"]),
          identificationRate: z.number().nullable(),
          unknownRejection: z.number().nullable(),
          genuineScores: z.number().int().nonnegative(),
          impostorScores: z.number().int().nonnegative(),
        })
        .optional(),
    }),
  },
  /** A feed delivery as declared (driver's note, supplier's delivery id). */
  delivery: {
    class: "evidence",
    schema: z.strictObject({
      barn: z.string().max(64),
      kg: finite(),
      supplier: z.string().max(128).optional(),
      ref: z.string().max(128).optional(),
    }),
  },
  /** One pig identified in one frame. */
  sighting: {
    class: "evidence",
    schema: z.strictObject({
      camera: z.string().max(64),
      pig: z.string().max(64).nullable(),
      score: finite(),
      frameSha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** 64-bit perceptual hash of the frame (optional: agents without it are still accepted). */
      framePhash: z
        .string()
        .regex(/^[0-9a-f]{16}$/)
        .optional(),
      box: z.array(finite()).length(4).optional(),
      /** Set when ground truth named the pig (an ear-tag QR read in this frame), not the matcher: herd adaptation trains on these. */
      labelledBy: z.enum(["tag"]).optional(),
      /**
       * Set when the face box held still since an earlier frame (models/pipeline/still.ts): pig and
       * score were carried from that frame (its SHA-256), this frame's pixels were only compared.
       */
      carriedFrom: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
    }),
  },
  /** A claim check for a dead animal's photo. */
  claim: {
    class: "evidence",
    schema: z.strictObject({
      claimId: z.string().max(128),
      pig: z.string().max(64).nullable(),
      score: finite(),
      enrolled: z.boolean(),
      repeated: z.boolean(),
      photoSha256: z.string().regex(/^[0-9a-f]{64}$/),
      detail: z.record(z.string(), z.unknown()).optional(),
    }),
  },
  /** A camera frame kept as media: the hash is evidence, the bytes are evictable. */
  media: {
    class: "media",
    schema: z.strictObject({
      camera: z.string().max(64),
      mime: z.string().max(64),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** 64-bit perceptual hash of the image (optional: agents without it are still accepted). */
      phash: z
        .string()
        .regex(/^[0-9a-f]{16}$/)
        .optional(),
      width: z.number().int().optional(),
      height: z.number().int().optional(),
      dataB64: z.string().optional(),
    }),
  },
  /** A patrol robot's checkpoint result. */
  checkpoint: {
    class: "evidence",
    schema: z.strictObject({
      checkpoint: z.string().max(64),
      ok: z.boolean(),
      values: z.record(z.string(), z.union([finite(), z.string(), z.boolean()])),
      findings: z.array(z.string().max(256)).optional(),
    }),
  },
  /** A patrol robot's inspection at one checkpoint: readings, camera checks (expected vs seen, frame hashes). */
  inspection: {
    class: "evidence",
    schema: z.strictObject({
      round: z.number().int().nonnegative(),
      checkpoint: z.string().max(64),
      plan: z.string().max(64),
      arrivedAt: z.number().int(),
      readings: z.record(z.string(), z.union([finite(), z.boolean()])),
      checks: z
        .array(
          z.strictObject({
            id: z.string().max(64),
            type: z.enum(["limit", "lamp", "switch", "meter", "label"]),
            expected: z.string().max(128),
            seen: z.string().max(256),
            /** null: not checked (no frame, no reading); `skipped` says why. */
            ok: z.boolean().nullable(),
            skipped: z.string().max(256).optional(),
            frameSha256: z
              .string()
              .regex(/^[0-9a-f]{64}$/)
              .optional(),
            region: z.array(z.number().int().nonnegative()).length(4).optional(),
          }),
        )
        .max(64),
      ok: z.boolean(),
      violations: z.array(z.string().max(256)).max(64),
      battery: finite().optional(),
      pose: z.strictObject({ x: finite(), y: finite(), theta: finite() }).optional(),
    }),
  },
  /** A patrol round's summary, appended at the dock: what the plan asked, what was visited or skipped and why. */
  round: {
    class: "evidence",
    schema: z.strictObject({
      round: z.number().int().nonnegative(),
      plan: z.string().max(64),
      startedAt: z.number().int(),
      endedAt: z.number().int(),
      planned: z.array(z.string().max(64)).max(500),
      visited: z.array(z.string().max(64)).max(500),
      skipped: z
        .array(z.strictObject({ checkpoint: z.string().max(64), reason: z.string().max(256) }))
        .max(500),
      violations: z.number().int().nonnegative(),
      battery: finite().optional(),
    }),
  },
  /** Periodic signed heads of every stream: proves what existed by when, even before upload. */
  seal: {
    class: "evidence",
    schema: z.strictObject({
      heads: z.array(z.strictObject({ stream: z.string(), seq: z.number().int(), hash: z.string() })),
      sig: z.string(),
    }),
  },
} as const satisfies Record<string, { class: PriorityClass; schema: z.ZodType }>;

export type Kind = keyof typeof kinds;
export type BodyOf<K extends Kind> = z.output<(typeof kinds)[K]["schema"]>;

export function isKind(k: string): k is Kind {
  return Object.hasOwn(kinds, k);
}

export function priorityOf(kind: string): number {
  return isKind(kind) ? PRIORITY[kinds[kind].class] : PRIORITY.telemetry;
}

export function classOf(kind: string): PriorityClass {
  return isKind(kind) ? kinds[kind].class : "telemetry";
}

const READING_KEYS = new Set(["value", "unit", "quality"]);

/**
 * The hot path for the most common kind: true only when zod would certainly accept `body` as a
 * `reading` (a plain object with a finite `value`, a `unit` of ≤ 16 UTF-16 units, an optional
 * `quality` of ok/suspect, no other key). False means "ask zod", never "invalid": callers fall back
 * to the schema, so error messages and every odd input are zod's. sync/kinds.test.ts checks the
 * implication against zod with fast-check.
 */
export function isPlainReading(body: unknown): body is { value: number; unit: string; quality?: string } {
  if (typeof body !== "object" || body === null) return false;
  const proto = Object.getPrototypeOf(body);
  if (proto !== Object.prototype && proto !== null) return false;
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  if (keys.length < 2 || keys.length > 3) return false;
  for (const k of keys) if (!READING_KEYS.has(k)) return false;
  const { value, unit, quality } = b;
  return (
    typeof value === "number" &&
    Number.isFinite(value) &&
    typeof unit === "string" &&
    unit.length <= 16 &&
    (quality === undefined || quality === "ok" || quality === "suspect")
  );
}

/** canonicalJson of a body isPlainReading accepted (keys sorted: quality, unit, value). */
export function canonicalReading(b: { value: number; unit: string; quality?: string }): string {
  const tail = `"unit":${JSON.stringify(b.unit)},"value":${JSON.stringify(b.value)}}`;
  return b.quality === undefined ? `{${tail}` : `{"quality":"${b.quality}",${tail}`;
}

/** Own keys of a plain object when it has only enumerable string keys; else undefined ("ask zod"). */
function plainKeys(o: unknown): string[] | undefined {
  if (typeof o !== "object" || o === null) return undefined;
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(o);
  return Reflect.ownKeys(o).length === keys.length ? keys : undefined;
}

const BLOCK_KEYS = new Set(["values", "units", "quality"]);

/**
 * The hot path for a Modbus register block (the Modbus driver's default record): true only when zod
 * would certainly accept `body` as a `block` (plain objects only; 1 to 256 values, each name 1 to 64
 * UTF-16 units and each value finite; units, if given, strings of ≤ 16 under such names; quality
 * ok/suspect). False means "ask zod", never "invalid". sync/kinds.test.ts checks the implication.
 */
export function isPlainBlock(body: unknown): boolean {
  const keys = plainKeys(body);
  if (!keys || keys.length === 0 || keys.length > 3) return false;
  for (const k of keys) if (!BLOCK_KEYS.has(k)) return false;
  const { values, units, quality } = body as Record<string, unknown>;
  if (quality !== undefined && quality !== "ok" && quality !== "suspect") return false;
  if ("quality" in (body as object) && quality === undefined) return false;
  const names = plainKeys(values);
  if (!names || names.length === 0 || names.length > 256) return false;
  const v = values as Record<string, unknown>;
  for (const n of names) {
    // zod's output object drops a "__proto__" key (assigning it sets the prototype): ask zod.
    if (n.length === 0 || n.length > 64 || n === "__proto__") return false;
    const x = v[n];
    if (typeof x !== "number" || !Number.isFinite(x)) return false;
  }
  if ("units" in (body as object)) {
    const unitNames = plainKeys(units);
    if (!unitNames) return false;
    const u = units as Record<string, unknown>;
    for (const n of unitNames) {
      if (n.length === 0 || n.length > 64 || n === "__proto__") return false;
      const x = u[n];
      if (typeof x !== "string" || x.length > 16) return false;
    }
  }
  return true;
}

/** Validates a body against its kind (the reading and block fast paths, else zod): null when valid, else the first issue. */
export function bodyIssue(kind: string, body: unknown): string | null {
  if (!isKind(kind)) return `unknown record kind '${kind}'`;
  if (kind === "reading" && isPlainReading(body)) return null;
  if (kind === "block" && isPlainBlock(body)) return null;
  const r = kinds[kind].schema.safeParse(body);
  if (r.success) return null;
  const i = r.error.issues[0]!;
  return `${kind} body ${i.path.join(".") || "(root)"}: ${i.message}`;
}

/** canonicalJson(body), with the reading fast path. */
export function canonicalBody(kind: string, body: unknown): string {
  return kind === "reading" && isPlainReading(body) ? canonicalReading(body) : canonicalJson(body);
}
