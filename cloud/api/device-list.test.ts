import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { silentLogger } from "../../core/log.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { registerDevice } from "../devices.ts";
import { hashToken } from "./auth.ts";
import { buildServer } from "./server.ts";

const TOKEN = "device-list-token-0123456789";

/** GET /api/v1/devices sums each device's streams in the database (one grouped query). */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`device list on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());

    it.runIf(available)(
      "gives each device its stream count, records, chain state and last record",
      async () => {
        const db = fresh!.db;
        const key = generateKeyPair().publicKeyB64;
        for (const id of ["a", "b", "c"]) await registerDevice(db, id, key, null, 1);
        const stream = (
          device: string,
          stream: string,
          count: number,
          chain_ok: number,
          last_seen: number | null,
        ) =>
          db.kysely
            .insertInto("streams")
            .values({ device, stream, committed_seq: count, max_seq: count, count, chain_ok, last_seen })
            .execute();
        await stream("a", "t", 10, 1, 100);
        await stream("a", "h", 5, 1, 300);
        await stream("b", "t", 7, 0, 200);
        const app = await buildServer(
          { db, log: silentLogger, key: undefined as never, now: () => 1000, sendCommand: async () => {} },
          [{ name: "admin", role: "admin", sha256: hashToken(TOKEN) }],
        );
        const r = await app.inject({ url: "/api/v1/devices", headers: { authorization: `Bearer ${TOKEN}` } });
        expect(r.statusCode).toBe(200);
        const got = (r.json() as { devices: Array<Record<string, unknown>> }).devices.map((d) => ({
          id: d.id,
          streams: d.streams,
          records: d.records,
          chain: d.chain,
          lastSeen: d.lastSeen,
        }));
        expect(got).toEqual([
          { id: "a", streams: 2, records: 15, chain: "ok", lastSeen: 300 },
          { id: "b", streams: 1, records: 7, chain: "broken", lastSeen: 200 },
          { id: "c", streams: 0, records: 0, chain: "ok", lastSeen: null },
        ]);
        await app.close();
      },
    );
  });
}
