import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import { freshDb, postgresAvailable } from "../test/helpers/services.ts";
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
      // Cached within the TTL; a revocation is seen once it expires.
      await revokeDevice(fresh!.db, "dk-1", 20);
      expect(await dk.verifiers("dk-1", 10, 4_000)).toHaveLength(1);
      expect(c.count()).toBe(1);
      expect(await dk.verifiers("dk-1", 10, 5_011)).toEqual([]);
      expect(c.count()).toBe(2);
    });
  });
}
