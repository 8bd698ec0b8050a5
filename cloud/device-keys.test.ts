import type { KyselyPlugin } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import { freshDb, postgresAvailable } from "../test/helpers/services.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import type { Db } from "./db/connect.ts";
import { DeviceKeys, registerDevice, revokeDevice } from "./devices.ts";
import { countingDb } from "./ingest/statement-count.ts";

/** `n` devices `prefix-0…` registered with fresh keys. */
async function registered(db: Db, prefix: string, n: number) {
  const keys = Array.from({ length: n }, () => generateKeyPair());
  for (const [i, k] of keys.entries()) await registerDevice(db, `${prefix}-${i}`, k.publicKeyB64, null, 1);
  return keys;
}

/** Device keys: concurrent look-ups share one statement; revocation still takes effect within the TTL. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`DeviceKeys on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    it.runIf(available)("looks up many devices at once in one statement, unknown ids too", async () => {
      const keys = await registered(fresh!.db, "dk", 5);
      await revokeDevice(fresh!.db, "dk-4", 2);
      const c = countingDb(fresh!.db);
      const dk = new DeviceKeys(c.db, 5_000);
      const got = await Promise.all([
        ...keys.map((_, i) => dk.verifiers(`dk-${i}`, 10, 10)),
        dk.verifiers("dk-0", 10, 10),
        dk.verifiers("nobody", 10, 10),
      ]);
      expect(c.count()).toBe(1);
      for (let i = 0; i < 4; i++)
        expect(got[i]!.map((k) => k.export({ format: "der", type: "spki" }))).toEqual([
          keys[i]!.publicKey.export({ format: "der", type: "spki" }),
        ]);
      expect(got[4]).toEqual([]); // revoked
      expect(got[5]).toHaveLength(1);
      expect(got[6]).toEqual([]); // unknown
      // Cached within the TTL (no read-ahead before half of it); a revocation is seen once it expires.
      await revokeDevice(fresh!.db, "dk-1", 20);
      expect(await dk.verifiers("dk-1", 10, 2_000)).toHaveLength(1);
      expect(c.count()).toBe(1);
      expect(await new DeviceKeys(c.db, 5_000).verifiers("dk-1", 10, 10)).toEqual([]);
      expect(c.count()).toBe(2);
    });

    it.runIf(available)(
      "reads the keys of active devices ahead in bulk, so a batch every TTL finds its key fresh (#19)",
      async () => {
        const keys = await registered(fresh!.db, "ra", 3);
        const c = countingDb(fresh!.db);
        const dk = new DeviceKeys(c.db, 5_000);
        const ids = keys.map((_, i) => `ra-${i}`);
        const all = (now: number) => Promise.all(ids.map((id) => dk.verifiers(id, 10, now)));
        await all(0);
        expect(dk.stats).toEqual({ lookups: 1, readAheads: 0 });
        const first = await dk.verifiers("ra-0", 10, 0);
        // 3/4 of the TTL on, one batch's look-up starts a read-ahead of all three (one statement).
        await dk.verifiers("ra-0", 10, 4_000);
        await waitFor(() => dk.stats.readAheads === 1, "the read-ahead");
        await revokeDevice(fresh!.db, "ra-2", 3_500);
        // Past the first read's TTL, every key was read again at 4 s: no look-up on demand, and an
        // unchanged key is the same KeyObject (not parsed again). The look-up at 8 s starts the next
        // read-ahead, which sees the revocation.
        const again = await all(8_000);
        expect(again.map((k) => k.length)).toEqual([1, 1, 1]);
        expect(again[0]![0]).toBe(first[0]);
        await waitFor(() => dk.stats.readAheads === 2, "the second read-ahead");
        expect(await dk.verifiers("ra-2", 10, 8_100)).toEqual([]);
        expect(dk.stats.lookups).toBe(1);
        expect(c.count()).toBe(3);
        // A read-ahead never undoes a forget that came after it started.
        await dk.verifiers("ra-0", 10, 12_000);
        dk.forget("ra-1");
        await waitFor(() => dk.stats.readAheads === 3, "the third read-ahead");
        expect(dk.size).toBe(2);
        expect(c.count()).toBe(4);
        // Devices not seen within `activeMs` are neither read ahead nor kept once expired.
        await dk.verifiers("nobody", 10, 100_000);
        expect(dk.size).toBe(1);
        expect(c.count()).toBe(5);
      },
    );
  });
}

/** A look-up held in flight (its result gated) while more are asked for, one a turn. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`DeviceKeys look-ups in flight on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    it.runIf(available)(
      "batches look-ups asked for while one is in flight into the next statement",
      async () => {
        await registered(fresh!.db, "fl", 6);
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let statements = 0;
        const gated: KyselyPlugin = {
          transformQuery: (args) => args.node,
          async transformResult(args) {
            // The first statement's answer waits for the gate: it is in flight meanwhile.
            if (++statements === 1) await gate;
            return args.result;
          },
        };
        const dk = new DeviceKeys({ ...fresh!.db, kysely: fresh!.db.kysely.withPlugin(gated) }, 5_000);
        const first = dk.verifiers("fl-0", 10, 10);
        await waitFor(() => statements === 1, "the first look-up");
        // Each in a later turn of the event loop, as the subscriber hands packets over.
        const later: Array<Promise<unknown>> = [];
        for (let i = 1; i < 6; i++) {
          await new Promise((r) => setImmediate(r));
          later.push(dk.verifiers(`fl-${i}`, 10, 10));
        }
        release();
        const got = await Promise.all([first, ...later]);
        expect(got.map((k) => (k as unknown[]).length)).toEqual([1, 1, 1, 1, 1, 1]);
        // The first statement, then one for the five asked for while it was in flight.
        expect(dk.stats.lookups).toBe(2);
        expect(statements).toBe(2);
      },
    );
  });
}
