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
 *
 * Read ahead in bulk (issue #19): a fleet whose gateways send every 5 s or less often found every
 * key expired at every batch, a statement per batch (look-ups coalesce only within one turn of the
 * event loop, and the subscriber hands over one packet a turn). So every `ttlMs / 4` the keys of
 * devices seen within `activeMs` that are 3/4 of their TTL old are read again, 500 to a statement,
 * and a known device's batch finds its key fresh. No key is ever used more than `ttlMs` after it
 * was read, so revocation still takes effect within the TTL. Entries neither fresh nor used within
 * `activeMs` are dropped (made-up ids do not pile up).
 */
type KeyEntry = {
  key: KeyObject | null;
  retired: Array<{ key: KeyObject; until: number }>;
  /** The parsed keys by their base64, reused when a look-up reads them again unchanged. */
  b64: Map<string, KeyObject>;
  /** When it was read (its age counts from here). */
  at: number;
  /** When a batch last asked for it. */
  used: number;
};
type Waiter = { resolve(e: KeyEntry): void; reject(e: unknown): void; now: number; replaces?: KeyEntry };

export class DeviceKeys {
  private readonly cache = new Map<string, KeyEntry>();
  private readonly pending = new Map<string, Waiter & { promise: Promise<KeyEntry> }>();
  private lastSweep = Number.NEGATIVE_INFINITY;
  private flushing = false;
  /** Statements: look-ups a batch waited for, read-aheads done (for tests and benchmarks). */
  readonly stats = { lookups: 0, readAheads: 0 };
  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5_000,
    private readonly activeMs = 12 * ttlMs,
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
  private async entry(id: string, now: number): Promise<KeyEntry> {
    if (now - this.lastSweep >= this.ttlMs / 4) this.sweep(now);
    const c = this.cache.get(id);
    // Unknown ids are cached too (for a shorter time): junk under made-up ids costs no query each.
    if (c && now - c.at < (c.key ? this.ttlMs : Math.min(this.ttlMs, 1000))) {
      c.used = Math.max(c.used, now);
      return c;
    }
    // Look-ups asked for in the same turn of the event loop go out as one statement: a fleet's keys
    // expire together (they were first read together), and each would otherwise cost a round trip.
    const waiting = this.pending.get(id);
    if (waiting) return waiting.promise;
    let resolve!: (e: KeyEntry) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<KeyEntry>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(id, { promise, resolve, reject, now });
    if (this.pending.size === 1 && !this.flushing) setImmediate(() => void this.flush());
    return promise;
  }

  /** One statement for every id waiting: the device rows and their retired keys (a row each, or one of nulls). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // One look-up in flight at a time: ids asked for meanwhile (a fleet's first batches after a
      // start arrive one a turn) wait for it and go out together in the next.
      while (this.pending.size > 0) {
        const all = [...this.pending.entries()];
        this.pending.clear();
        // At most 500 ids a statement (a flood of made-up ids must not build one huge IN list).
        for (let i = 0; i < all.length; i += 500) {
          this.stats.lookups++;
          await this.lookup(all.slice(i, i + 500));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * The read-ahead: known devices used within `activeMs` whose entry is at least 3/4 of its TTL
   * old are read again in the background (a failure leaves them to expire and be read on demand).
   */
  private sweep(now: number): void {
    this.lastSweep = now;
    const due: Array<[string, Waiter]> = [];
    for (const [id, e] of this.cache) {
      const recent = now - e.used <= this.activeMs;
      if (e.key && recent && now - e.at >= (this.ttlMs * 3) / 4 && !this.pending.has(id))
        due.push([id, { resolve() {}, reject() {}, now, replaces: e }]);
      else if (!recent && now - e.at >= this.ttlMs) this.cache.delete(id);
    }
    if (due.length === 0) return;
    void (async () => {
      for (let i = 0; i < due.length; i += 500) {
        await this.lookup(due.slice(i, i + 500));
        this.stats.readAheads++;
      }
    })();
  }

  private async lookup(batch: Array<[string, Waiter]>) {
    try {
      const rows = await this.db.kysely
        .selectFrom("devices")
        .leftJoin("device_keys_retired as r", "r.device", "devices.id")
        .select([
          "devices.id",
          "devices.public_key",
          "devices.revoked_at",
          "r.public_key as retired_key",
          "r.valid_until",
        ])
        .where(
          "devices.id",
          "in",
          batch.map(([id]) => id),
        )
        .execute();
      const byId = new Map<string, typeof rows>();
      for (const r of rows) {
        const list = byId.get(r.id);
        if (list) list.push(r);
        else byId.set(r.id, [r]);
      }
      for (const [id, p] of batch) {
        const mine = byId.get(id) ?? [];
        const row = mine[0];
        // A key read again unchanged keeps its KeyObject: parsing one costs ~0.1 ms of CPU, which a
        // read-ahead of every active device every few seconds would otherwise pay for each of them.
        const old = this.cache.get(id);
        const parse = (b64: string) => old?.b64.get(b64) ?? publicKeyFromB64(b64);
        const b64 = new Map<string, KeyObject>();
        const keep = (k: string) => {
          const o = parse(k);
          b64.set(k, o);
          return o;
        };
        const key = row && row.revoked_at === null ? keep(row.public_key) : null;
        const retired = key
          ? mine.flatMap((r) =>
              r.retired_key === null || r.valid_until === null
                ? []
                : [{ key: keep(r.retired_key), until: Number(r.valid_until) }],
            )
          : [];
        if (p.replaces) {
          // A read-ahead: kept only if nothing replaced or forgot the entry meanwhile (a revocation
          // on this instance forgets at once, and must not be undone by a read that started before it).
          if (this.cache.get(id) === p.replaces)
            this.cache.set(id, { key, retired, b64, at: p.now, used: p.replaces.used });
          continue;
        }
        const e = { key, retired, b64, at: p.now, used: p.now };
        this.cache.set(id, e);
        p.resolve(e);
      }
    } catch (err) {
      for (const [, p] of batch) p.reject(err);
    }
  }
  /** Entries held (known, unknown and expired ones not yet dropped). */
  get size(): number {
    return this.cache.size;
  }
  forget(id: string) {
    this.cache.delete(id);
  }
}
