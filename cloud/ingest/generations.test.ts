import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ERR_BAD_SIGNATURE, ERR_SEQ_CONFLICT, ERR_STALE_GENERATION } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { commitSegments } from "./evidence-store.ts";
import { commitGroup } from "./group-commit.ts";
import { verifyBatch } from "./verify.ts";

const key = generateKeyPair();
const recs = (from: number, n: number, tag = "") =>
  Array.from({ length: n }, (_, i) => ({
    t: {
      wall: 1_760_000_000_000 + (from + i) * 1000,
      boot: `b${tag}`,
      mono: (from + i) * 1000,
      synced: true,
    },
    kind: "reading",
    body: { value: from + i, unit: "degC" },
  }));

/** The cloud's decision on a restarted stream (#15): declared accepted, replays and forgeries refused. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`declared stream restarts on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    const commitAs = (device: string, segs: Parameters<typeof batchOf>[1]) =>
      commitSegments(fresh!.db, device, verifyBatch(batchOf(device, segs), key.publicKey), 7);
    const rows = (device: string) =>
      fresh!.db.kysely
        .selectFrom("records")
        .select(["seq", "hash", "body"])
        .where("device", "=", device)
        .where("stream", "=", "t")
        .orderBy("seq")
        .execute();
    const streamRow = (device: string) =>
      fresh!.db.kysely
        .selectFrom("streams")
        .selectAll()
        .where("device", "=", device)
        .where("stream", "=", "t")
        .executeTakeFirstOrThrow();

    /** Generation 0 committed 1..5 and sent 8..10 (6, 7 never arrived); returns the old rows. */
    const history = async (device: string) => {
      const w = new StreamWriter(device, "t", key);
      await commitAs(device, [w.next(recs(1, 5))]);
      w.next(recs(6, 2));
      await commitAs(device, [w.next(recs(8, 3))]);
      return rows(device);
    };

    it.runIf(available)("accepts a declared restart after the old generation, losing nothing", async () => {
      const device = `d-${randomBytes(3).toString("hex")}`;
      const before = await history(device);
      const g1 = new StreamWriter(device, "t#g1", key);
      const r = await commitAs(device, [g1.next(recs(1, 4, "g1"))]);
      // The ack names the wire stream and seqs the device sent.
      expect(r.ranges).toEqual([expect.objectContaining({ stream: "t#g1", from: 1, to: 4 })]);
      expect(r.inserted).toBe(4);
      const after = await rows(device);
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after.slice(before.length).map((x) => Number(x.seq))).toEqual([11, 12, 13, 14]);
      const st = await streamRow(device);
      expect(Number(st.generation)).toBe(1);
      expect(Number(st.seq_base)).toBe(10);
      expect(Number(st.committed_seq)).toBe(14);
      expect(st.chain_ok).toBe(1);
      const restart = await fresh!.db.kysely
        .selectFrom("stream_restarts")
        .selectAll()
        .where("device", "=", device)
        .executeTakeFirstOrThrow();
      expect(restart).toMatchObject({ stream: "t", old_committed: 5, declared_at: 7 });
      expect(Number(restart.generation)).toBe(1);
      expect(Number(restart.old_max)).toBe(10);
      expect(Number(restart.missing)).toBe(2);
      // Re-sent (a redelivery, or records salvaged and sent again): duplicates, nothing new.
      const again = await commitAs(device, [new StreamWriter(device, "t#g1", key).next(recs(1, 4, "g1"))]);
      expect(again).toMatchObject({ inserted: 0, duplicates: 4 });
      // The generation goes on: seq 5 of generation 1 after its seq 4.
      await commitAs(device, [g1.next(recs(5, 2, "g1"))]);
      expect(Number((await streamRow(device)).committed_seq)).toBe(16);
      expect(await rows(device)).toHaveLength(before.length + 6);
    });

    it.runIf(available)("refuses an undeclared rewind to seq 1 as before", async () => {
      const device = `d-${randomBytes(3).toString("hex")}`;
      const before = await history(device);
      const replay = new StreamWriter(device, "t", key).next(recs(1, 3, "other"));
      await expect(commitAs(device, [replay])).rejects.toSatisfy((e) => ERR_SEQ_CONFLICT.is(e));
      expect(await rows(device)).toEqual(before);
    });

    it.runIf(available)("refuses a generation not higher than the stored one", async () => {
      const device = `d-${randomBytes(3).toString("hex")}`;
      await history(device);
      await commitAs(device, [new StreamWriter(device, "t#g2", key).next(recs(1, 2, "g2"))]);
      const before = await rows(device);
      // Generation 1 after 2 (a replay of an older restart), and generation 0 again.
      const g1 = new StreamWriter(device, "t#g1", key).next(recs(1, 2, "g1"));
      await expect(commitAs(device, [g1])).rejects.toSatisfy((e) => ERR_STALE_GENERATION.is(e));
      const g0 = new StreamWriter(device, "t", key).next(recs(1, 2, "x"));
      await expect(commitAs(device, [g0])).rejects.toSatisfy((e) => ERR_STALE_GENERATION.is(e));
      // Generation 2 again from seq 1 with other content: the same generation, so a rewind.
      const rewind = new StreamWriter(device, "t#g2", key).next(recs(1, 2, "y"));
      await expect(commitAs(device, [rewind])).rejects.toSatisfy((e) => ERR_SEQ_CONFLICT.is(e));
      // A higher generation must start at seq 1 (its declaration), not mid-stream.
      const w3 = new StreamWriter(device, "t#g3", key);
      w3.next(recs(1, 2, "g3"));
      await expect(commitAs(device, [w3.next(recs(3, 2, "g3"))])).rejects.toSatisfy((e) =>
        ERR_SEQ_CONFLICT.is(e),
      );
      expect(await rows(device)).toEqual(before);
      expect(Number((await streamRow(device)).generation)).toBe(2);
    });

    it.runIf(available)("refuses a forged declaration (signed by another key, or renamed)", async () => {
      const device = `d-${randomBytes(3).toString("hex")}`;
      const before = await history(device);
      const other = generateKeyPair();
      const forged = batchOf(device, [new StreamWriter(device, "t#g1", other).next(recs(1, 2, "f"))]);
      expect(() => verifyBatch(forged, key.publicKey)).toThrow(/head signature does not verify/);
      // A genuine generation-0 segment relabelled as a restart: the suffix is inside the signature.
      const genuine = batchOf(device, [new StreamWriter(device, "t", key).next(recs(1, 2, "r"))]);
      const relabelled = {
        ...genuine,
        segments: genuine.segments.map((s) => ({ ...s, stream: "t#g1" })),
      } as typeof genuine;
      expect(() => verifyBatch(relabelled, key.publicKey)).toThrow(/head signature does not verify/);
      expect(ERR_BAD_SIGNATURE("x").code).toBe("BL_BAD_SIGNATURE");
      expect(await rows(device)).toEqual(before);
    });

    it.runIf(available)(
      "in a group commit, a restart commits and a stale replay beside it is refused alone",
      async () => {
        const a = `d-${randomBytes(3).toString("hex")}`;
        const b = `d-${randomBytes(3).toString("hex")}`;
        await history(a);
        await history(b);
        await commitAs(b, [new StreamWriter(b, "t#g2", key).next(recs(1, 1, "g2"))]);
        const v = (device: string, stream: string) =>
          verifyBatch(
            batchOf(device, [new StreamWriter(device, stream, key).next(recs(1, 2, "n"))]),
            key.publicKey,
          );
        const out = await commitGroup(
          fresh!.db,
          [
            { device: a, segments: v(a, "t#g1") },
            { device: b, segments: v(b, "t#g1") },
          ],
          9,
        );
        expect(out[0]).toMatchObject({ ok: true, result: { inserted: 2 } });
        expect(out[1]!.ok).toBe(false);
        expect(ERR_STALE_GENERATION.is((out[1] as { error: unknown }).error)).toBe(true);
        expect((await rows(a)).map((r) => Number(r.seq)).slice(-2)).toEqual([11, 12]);
        expect(await rows(b)).toHaveLength(9);
      },
    );
  });
}
