import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import { freshDb, postgresAvailable } from "../test/helpers/services.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import { DeviceKeys, registerDevice, revokeDevice } from "./devices.ts";
import { countingDb } from "./ingest/statement-count.ts";

/** Device keys: concurrent look-ups share one statement; revocation still takes effect within the TTL. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`DeviceKeys on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    it.runIf(available)("looks up many devices at once in one statement, unknown ids too", async () => {
      const keys = Array.from({ length: 5 }, () => generateKeyPair());
      for (const [i, k] of keys.entries())
        await registerDevice(fresh!.db, `dk-${i}`, k.publicKeyB64, null, 1);
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
        const keys = Array.from({ length: 3 }, () => generateKeyPair());
        for (const [i, k] of keys.entries())
          await registerDevice(fresh!.db, `ra-${i}`, k.publicKeyB64, null, 1);
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

// PostgreSQL only: there a look-up spans turns of the event loop (on SQLite each resolves in the turn it starts).
describe("DeviceKeys look-ups in flight on postgres", async () => {
  const available = await postgresAvailable();
  const fresh = available ? await freshDb("postgres") : undefined;
  afterAll(() => fresh?.drop());
  it.runIf(available)(
    "batches look-ups asked for while one is in flight into the next statement",
    async () => {
      const keys = Array.from({ length: 6 }, () => generateKeyPair());
      for (const [i, k] of keys.entries())
        await registerDevice(fresh!.db, `fl-${i}`, k.publicKeyB64, null, 1);
      const dk = new DeviceKeys(fresh!.db, 5_000);
      const first = dk.verifiers("fl-0", 10, 10);
      // Each in a later turn of the event loop, as the subscriber hands packets over.
      const later: Array<Promise<unknown>> = [];
      for (let i = 1; i < 6; i++) {
        await new Promise((r) => setImmediate(r));
        later.push(dk.verifiers(`fl-${i}`, 10, 10));
      }
      const got = await Promise.all([first, ...later]);
      expect(got.map((k) => (k as unknown[]).length)).toEqual([1, 1, 1, 1, 1, 1]);
      // The first statement, then at most a few for the five asked for while one was in flight.
      expect(dk.stats.lookups).toBeLessThan(6);
    },
  );
});
