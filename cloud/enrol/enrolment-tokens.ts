import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/connect.ts";
import {
  ERR_ENROL_DEVICE,
  ERR_ENROL_TOKEN,
  ERR_ENROL_TOKEN_EXPIRED,
  ERR_ENROL_TOKEN_USED,
} from "./errors.ts";

export const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** A fresh secret token: a prefix saying what it is, then 32 random bytes (base64url). */
export const newToken = (prefix: string) => `${prefix}${randomBytes(32).toString("base64url")}`;

/**
 * An enrolment token for one gateway id: short-lived, single-use, shown once. Only its SHA-256 is
 * stored (with the device, the admin who made it, its expiry and when it was used).
 */
export async function createEnrolmentToken(
  db: Db,
  o: { device: string; ttlMs: number; createdBy: string },
  now: number,
): Promise<{ id: string; token: string; device: string; expiresAt: number }> {
  const token = newToken("ble_");
  const id = randomBytes(8).toString("hex");
  const expiresAt = now + o.ttlMs;
  await db.kysely
    .insertInto("enrolment_tokens")
    .values({
      id,
      token_sha256: sha256Hex(token),
      device: o.device,
      created_by: o.createdBy,
      created_at: now,
      expires_at: expiresAt,
      used_at: null,
    })
    .execute();
  return { id, token, device: o.device, expiresAt };
}

/** Checks a presented token for `device` without using it up; throws the precise 4xx. */
export async function checkEnrolmentToken(db: Db, token: string, device: string, now: number) {
  const row = await db.kysely
    .selectFrom("enrolment_tokens")
    .selectAll()
    .where("token_sha256", "=", sha256Hex(token))
    .executeTakeFirst();
  if (!row) throw ERR_ENROL_TOKEN("unknown enrolment token");
  if (row.device !== device)
    throw ERR_ENROL_DEVICE(`this enrolment token is for device '${row.device}', not '${device}'`);
  if (row.used_at !== null)
    throw ERR_ENROL_TOKEN_USED(
      `this enrolment token was used at ${new Date(Number(row.used_at)).toISOString()}`,
    );
  if (Number(row.expires_at) <= now)
    throw ERR_ENROL_TOKEN_EXPIRED(
      `this enrolment token expired at ${new Date(Number(row.expires_at)).toISOString()}`,
    );
  return row;
}

/** Marks the token used, only if it still is unused and unexpired (two racing requests: one wins). */
export async function useEnrolmentToken(db: Db, id: string, now: number): Promise<void> {
  const r = await db.kysely
    .updateTable("enrolment_tokens")
    .set({ used_at: now })
    .where("id", "=", id)
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw ERR_ENROL_TOKEN_USED("this enrolment token was just used");
}
