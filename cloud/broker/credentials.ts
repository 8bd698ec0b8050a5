import { randomBytes } from "node:crypto";
import type { Db } from "../db/connect.ts";
import { hashPassword, newSecret, verifyPassword } from "./passwords.ts";

/**
 * Devices' broker passwords. The cloud keeps only hashes; the secret is shown once, to the
 * provisioning gateway or the operator who asked for it. A device's credential works only while the
 * device is registered and not revoked: revoking the device locks it out of the embedded broker at
 * once and out of Mosquitto at the next `barnlink broker-config mosquitto` (which leaves it out).
 */
export async function issueBrokerSecret(
  db: Db,
  device: string,
  now: number,
  o: { expiresAt?: number | null } = {},
): Promise<string> {
  const secret = newSecret();
  await db.kysely
    .insertInto("broker_credentials")
    .values({
      id: randomBytes(8).toString("hex"),
      device,
      password_hash: hashPassword(secret),
      created_at: now,
      expires_at: o.expiresAt ?? null,
      revoked_at: null,
    })
    .execute();
  return secret;
}

/** A new secret; the old ones keep working for `overlapMs` so a gateway can switch without a gap. */
export async function rotateBrokerSecret(db: Db, device: string, now: number, overlapMs: number) {
  const until = now + Math.max(0, overlapMs);
  await db.kysely
    .updateTable("broker_credentials")
    .set({ expires_at: until })
    .where("device", "=", device)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", until)]))
    .execute();
  return issueBrokerSecret(db, device, now);
}

export async function revokeBrokerCredentials(db: Db, device: string, now: number): Promise<number> {
  const r = await db.kysely
    .updateTable("broker_credentials")
    .set({ revoked_at: now })
    .where("device", "=", device)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The live hashes of registered, unrevoked devices (for the broker's password file). */
export async function activeCredentials(
  db: Db,
  now: number,
): Promise<Array<{ device: string; hash: string }>> {
  const rows = await db.kysely
    .selectFrom("broker_credentials as c")
    .innerJoin("devices as d", "d.id", "c.device")
    .select(["c.device", "c.password_hash"])
    .where("d.revoked_at", "is", null)
    .where("c.revoked_at", "is", null)
    .where((eb) => eb.or([eb("c.expires_at", "is", null), eb("c.expires_at", ">", now)]))
    .orderBy("c.device")
    .orderBy("c.created_at")
    .execute();
  return rows.map((r) => ({ device: r.device, hash: r.password_hash }));
}

export async function verifyDeviceSecret(
  db: Db,
  device: string,
  secret: string,
  now: number,
): Promise<boolean> {
  const rows = await db.kysely
    .selectFrom("broker_credentials as c")
    .innerJoin("devices as d", "d.id", "c.device")
    .select(["c.password_hash"])
    .where("c.device", "=", device)
    .where("d.revoked_at", "is", null)
    .where("c.revoked_at", "is", null)
    .where((eb) => eb.or([eb("c.expires_at", "is", null), eb("c.expires_at", ">", now)]))
    .execute();
  return rows.some((r) => verifyPassword(secret, r.password_hash));
}

/** Whether a device is registered, unrevoked and has an unexpired, unrevoked broker credential. */
export async function hasLiveCredential(db: Db, device: string, now: number): Promise<boolean> {
  const row = await db.kysely
    .selectFrom("broker_credentials as c")
    .innerJoin("devices as d", "d.id", "c.device")
    .select("c.id")
    .where("c.device", "=", device)
    .where("d.revoked_at", "is", null)
    .where("c.revoked_at", "is", null)
    .where((eb) => eb.or([eb("c.expires_at", "is", null), eb("c.expires_at", ">", now)]))
    .executeTakeFirst();
  return row !== undefined;
}
