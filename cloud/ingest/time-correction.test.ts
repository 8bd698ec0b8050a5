import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { encodeBatch } from "../../sync/codec.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { registerDevice } from "../devices.ts";
import { Ingest } from "./ingest.ts";
import { countingDb } from "./statement-count.ts";
import { TimeCorrector } from "./time-correction.ts";
import { verifyBatch } from "./verify.ts";

const WALL = 1_780_000_000_000;
const rec = (boot: string, mono: number, synced: boolean) => ({
  t: { wall: synced ? WALL + mono : 1_000 + mono, boot, mono, synced },
  kind: "reading",
  body: { value: mono, unit: "degC" },
});

/**
 * Boot-clock correction for a whole commit group (issue #19): each device's boot learnt from its
 * first synced record, its unsynced records corrected (earlier ones and later ones), another
 * instance's stored offset winning, and three statements per group for all of it.
 */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`time correction of a commit group on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    it.runIf(available)("learns every boot of a group at once and corrects their records", async () => {
      const db = fresh!.db;
      const devices = ["tc-a", "tc-b", "tc-c"];
      const keys = devices.map(() => generateKeyPair());
      for (const [i, d] of devices.entries()) await registerDevice(db, d, keys[i]!.publicKeyB64, null, 1);
      const w = devices.map((d, i) => new StreamWriter(d, "s.0", keys[i]!));
      // Another instance learnt tc-c's boot already, with its own offset: that one wins.
      await db.kysely
        .insertInto("boot_clocks")
        .values({ device: "tc-c", boot: "c1", offset_ms: WALL + 7, learnt_at: 1 })
        .execute();
      const ingest = new Ingest(db, generateKeyPair());
      const send = (batches: Array<[number, ReturnType<typeof rec>[]]>) =>
        ingest.handleMany(
          batches.map(([i, recs]) => ({
            topic: upTopic(devices[i]!),
            payload: encodeBatch(batchOf(devices[i]!, [w[i]!.next(recs)])),
          })),
        );
      // Group 1: tc-a unsynced only (nothing to learn from yet).
      await send([[0, [rec("a1", 10, false), rec("a1", 20, false)]]]);
      // Group 2: tc-a syncs; tc-b unsynced then synced in one batch; tc-c unsynced, its boot stored.
      const res = await send([
        [0, [rec("a1", 30, true)]],
        [1, [rec("b1", 5, false), rec("b1", 6, true)]],
        [2, [rec("c1", 40, false)]],
      ]);
      expect(res.every((r) => r.ack?.status === "committed")).toBe(true);
      // Group 3: a later unsynced record of a known boot, and a synced one (cached: no statement).
      await send([
        [0, [rec("a1", 50, false)]],
        [1, [rec("b1", 7, true)]],
      ]);
      const stored = await db.kysely
        .selectFrom("records")
        .select(["device", "t_mono", "t_corrected"])
        .where("device", "in", devices)
        .where("t_synced", "=", 0)
        .orderBy("device")
        .orderBy("t_mono")
        .execute();
      expect(
        stored.map((r) => [
          r.device,
          Number(r.t_mono),
          r.t_corrected === null ? null : Number(r.t_corrected),
        ]),
      ).toEqual([
        ["tc-a", 10, WALL + 10],
        ["tc-a", 20, WALL + 20],
        ["tc-a", 50, WALL + 50],
        ["tc-b", 5, WALL + 5],
        ["tc-c", 40, WALL + 47],
      ]);
      const clocks = await db.kysely
        .selectFrom("boot_clocks")
        .select(["device", "offset_ms"])
        .where("device", "in", devices)
        .orderBy("device")
        .execute();
      expect(clocks.map((r) => [r.device, Number(r.offset_ms)])).toEqual([
        ["tc-a", WALL],
        ["tc-b", WALL],
        ["tc-c", WALL + 7],
      ]);
    });

    it.runIf(available)(
      "costs three statements for a group's new boots and none once they are cached",
      async () => {
        const c = countingDb(fresh!.db);
        const tc = new TimeCorrector(c.db);
        const key = generateKeyPair();
        const group = (boot: string, synced: boolean) =>
          Array.from({ length: 32 }, (_, i) => {
            const device = `tcn-${i}`;
            const w = new StreamWriter(device, "s.0", key);
            return {
              device,
              segments: verifyBatch(batchOf(device, [w.next([rec(boot, 1, synced)])]), key.publicKey),
            };
          });
        await tc.afterCommitMany(group("n1", true));
        expect(c.kinds()).toEqual({ InsertQueryNode: 1, SelectQueryNode: 1, UpdateQueryNode: 1 });
        c.reset();
        await tc.afterCommitMany(group("n1", true));
        expect(c.count()).toBe(0);
        // Unsynced records of known boots: the one update, no read.
        await tc.afterCommitMany(group("n1", false));
        expect(c.kinds()).toEqual({ UpdateQueryNode: 1 });
      },
    );
  });
}
