import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { canonicalBytes, strictBase64 } from "../core/canonical.ts";
import { signBytes, verifyBytes } from "../core/keys.ts";

/**
 * Cloud → agent messages (JSON, signed with the cloud's Ed25519 key over canonical JSON of every
 * field but `sig`). An agent acts on nothing that does not verify: a forged ack could make it drop
 * records, a forged command could change what it measures.
 */
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const ackSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal("ack"),
  device: z.string(),
  batch: z.string().regex(/^[0-9a-f]{32}$/),
  status: z.enum(["committed", "rejected"]),
  /** Committed ranges, each with the link at `to` (must equal the agent's own). */
  segments: z.array(
    z.strictObject({ stream: z.string(), from: z.number().int(), to: z.number().int(), hash: hex64 }),
  ),
  code: z.string().optional(),
  reason: z.string().optional(),
  /**
   * A rejection names the SHA-256 of the exact frame refused: the device acts on it only for bytes it
   * sent itself, so a copy someone altered on the way earns them nothing (#13).
   */
  frame: hex64.optional(),
  at: z.number().int(),
  sig: z.string(),
});
export type Ack = z.infer<typeof ackSchema>;

export const commandSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal("cmd"),
  device: z.string(),
  id: z.string().min(8).max(64),
  name: z.string().max(64),
  args: z.record(z.string(), z.unknown()),
  at: z.number().int(),
  /** Wall-clock ms after which the agent ignores it. */
  expires: z.number().int(),
  sig: z.string(),
});
export type Command = z.infer<typeof commandSchema>;

type Unsigned<T> = Omit<T, "sig">;

function signedBytes(msg: Record<string, unknown>): Buffer {
  const { sig: _sig, ...rest } = msg;
  return canonicalBytes({ ctx: `barnlink/v1/${String(rest.type)}`, ...rest });
}

export function signMessage<T extends { sig: string }>(key: KeyObject, msg: Unsigned<T>): T {
  const sig = signBytes(key, signedBytes(msg as Record<string, unknown>)).toString("base64");
  return { ...msg, sig } as T;
}

export type Verified<T> = { ok: true; msg: T } | { ok: false; reason: string };

function verifyJson<T extends { sig: string; device: string }>(
  schema: z.ZodType<T>,
  key: KeyObject,
  payload: Buffer,
  device: string,
): Verified<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString("utf8"));
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  // Exactly the canonical base64 of a 64-byte Ed25519 signature: node's decoder skips stray
  // characters and the last character's unused bits, so a looser check let many spellings of one
  // signature verify (found by test/fuzz, #13 and again in CI: `…D/==` for `…Dw==`).
  const sig = strictBase64((raw as { sig?: unknown } | null)?.sig, 64);
  if (!sig) return { ok: false, reason: "sig is not the canonical base64 of a 64-byte signature" };
  const r = schema.safeParse(raw);
  if (!r.success)
    return {
      ok: false,
      reason: `schema: ${r.error.issues[0]?.path.join(".")} ${r.error.issues[0]?.message}`,
    };
  if (r.data.device !== device) return { ok: false, reason: `addressed to ${r.data.device}, not ${device}` };
  if (!verifyBytes(key, signedBytes(r.data as unknown as Record<string, unknown>), sig)) {
    return { ok: false, reason: "signature does not verify against the cloud key" };
  }
  return { ok: true, msg: r.data };
}

export const verifyAck = (key: KeyObject, payload: Buffer, device: string) =>
  verifyJson(ackSchema, key, payload, device);
export const verifyCommand = (key: KeyObject, payload: Buffer, device: string) =>
  verifyJson(commandSchema, key, payload, device);
