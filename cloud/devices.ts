import type { KeyObject } from "node:crypto";
import { ERR_CONFLICT, ERR_VALIDATION } from "../core/errors.ts";
import { publicKeyFromB64 } from "../core/keys.ts";
import type { Db } from "./db/connect.ts";

export interface DeviceRow {
  id: string;
  publicKey: string;
  name: string | null;
  registeredAt: number;
}

/**
 * Registers a device with its Ed25519 public key (base64 of 32 bytes). Re-registering the same key
 * is a no-op; a different key for a registered id is refused (409): replacing a key is a separate,
 * deliberate act (revoke, then register).
 */
export async function registerDevice(
  db: Db,
  id: string,
  publicKeyB64: string,
  name: string | null,
  now: number,
): Promise<DeviceRow> {
  try {
    publicKeyFromB64(publicKeyB64);
  } catch (e) {
    throw ERR_VALIDATION(`publicKey: ${(e as Error).message}`);
  }
  const existing = await db.kysely.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirst();
  if (existing && existing.revoked_at === null) {
    if (existing.public_key !== publicKeyB64)
      throw ERR_CONFLICT(`device ${id} is registered with another key; revoke it first`);
    return toRow(existing);
  }
  if (existing) {
    await db.kysely
      .updateTable("devices")
      .set({ public_key: publicKeyB64, name, registered_at: now, revoked_at: null })
      .where("id", "=", id)
      .execute();
  } else {
    await db.kysely
      .insertInto("devices")
      .values({ id, public_key: publicKeyB64, name, registered_at: now, revoked_at: null })
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
  }
  return { id, publicKey: publicKeyB64, name, registeredAt: now };
}

export async function revokeDevice(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db.kysely
    .updateTable("devices")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

function toRow(r: { id: string; public_key: string; name: string | null; registered_at: number }): DeviceRow {
  return { id: r.id, publicKey: r.public_key, name: r.name, registeredAt: Number(r.registered_at) };
}

export async function listDevices(db: Db): Promise<DeviceRow[]> {
  const rows = await db.kysely
    .selectFrom("devices")
    .selectAll()
    .where("revoked_at", "is", null)
    .orderBy("id")
    .execute();
  return rows.map(toRow);
}

/**
 * Device keys by id, cached briefly so a newly registered or revoked device takes effect within
 * `ttlMs`. `verifiers` also gives the keys a device rotated away from while their overlap lasts
 * (`device_keys_retired`, docs/security.md "Rotation"): batches signed before the gateway switched
 * still verify until then, and only the new key after.
 */
export class DeviceKeys {
  private readonly cache = new Map<
    string,
    { key: KeyObject | null; retired: Array<{ key: KeyObject; until: number }>; at: number }
  >();
  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5_000,
  ) {}
  /** The device's current key; null when unknown or revoked. */
  async get(id: string, now = Date.now()): Promise<KeyObject | null> {
    return (await this.entry(id, now)).key;
  }
  /** Every key a signature of this device may verify against at `at`: the current one first. */
  async verifiers(id: string, at: number, now = Date.now()): Promise<KeyObject[]> {
    const e = await this.entry(id, now);
    if (!e.key) return [];
    return [e.key, ...e.retired.filter((r) => r.until > at).map((r) => r.key)];
  }
  private async entry(id: string, now: number) {
    const c = this.cache.get(id);
    // Unknown ids are cached too (for a shorter time): junk under made-up ids costs no query each.
    if (c && now - c.at < (c.key ? this.ttlMs : Math.min(this.ttlMs, 1000))) return c;
    // One statement: the device row and its retired keys (a row each, or one row of nulls).
    const rows = await this.db.kysely
      .selectFrom("devices")
      .leftJoin("device_keys_retired as r", "r.device", "devices.id")
      .select(["devices.public_key", "devices.revoked_at", "r.public_key as retired_key", "r.valid_until"])
      .where("devices.id", "=", id)
      .execute();
    const row = rows[0];
    const key = row && row.revoked_at === null ? publicKeyFromB64(row.public_key) : null;
    const retired = key
      ? rows.flatMap((r) =>
          r.retired_key === null || r.valid_until === null
            ? []
            : [{ key: publicKeyFromB64(r.retired_key), until: Number(r.valid_until) }],
        )
      : [];
    const e = { key, retired, at: now };
    this.cache.set(id, e);
    return e;
  }
  forget(id: string) {
    this.cache.delete(id);
  }
}
