import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ERR_SEQ_CONFLICT } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { commitGroup, type GroupItem } from "./group-commit.ts";
import { verifyBatch } from "./verify.ts";

const key = generateKeyPair();
const recs = (from: number, n: number, unit = "degC") =>
  Array.from({ length: n }, (_, i) => ({
    t: { wall: 1_760_000_000_000 + (from + i) * 1000, boot: "b1", mono: (from + i) * 1000, synced: true },
    kind: "reading",
    body: { value: from + i, unit },
  }));
const item = (device: string, segs: Parameters<typeof batchOf>[1]): GroupItem => ({
  device,
  segments: verifyBatch(batchOf(device, segs), key.publicKey),
});

/** Group commit: many devices' batches in one transaction, a savepoint each, outcomes as if alone. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`commitGroup on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    const tag = randomBytes(3).toString("hex");
    const count = async (device: string) =>
      Number(
        (
          await fresh!.db.kysely
            .selectFrom("records")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("device", "=", device)
            .executeTakeFirstOrThrow()
        ).n,
      );

    it.runIf(available)("commits every device's batch and answers each in order", async () => {
      const devices = ["c", "a", "b"].map((d) => `g-${tag}-${d}`);
      const items = devices.map((d) => item(d, [new StreamWriter(d, "t", key).next(recs(1, 4))]));
      const out = await commitGroup(fresh!.db, items, 1);
      expect(out.map((o) => o.ok && o.result.inserted)).toEqual([4, 4, 4]);
      for (const d of devices) expect(await count(d)).toBe(4);
      // The same group again: no-ops, still answered committed.
      const again = await commitGroup(fresh!.db, items, 2);
      expect(again.map((o) => o.ok && o.result.duplicates)).toEqual([4, 4, 4]);
    });

    it.runIf(available)("one batch's conflict rolls back that batch alone", async () => {
      const bad = `g-${tag}-bad`;
      const good = `g-${tag}-good`;
      const w = new StreamWriter(bad, "t", key);
      await commitGroup(fresh!.db, [item(bad, [w.next(recs(1, 3))])], 1);
      const fork = new StreamWriter(bad, "t", key).next(recs(1, 3, "degF"));
      const alsoBad = new StreamWriter(bad, "u", key).next(recs(1, 2));
      const out = await commitGroup(
        fresh!.db,
        [
          item(good, [new StreamWriter(good, "t", key).next(recs(1, 5))]),
          item(bad, [alsoBad, fork]),
          item(good, [new StreamWriter(good, "v", key).next(recs(1, 1))]),
        ],
        2,
      );
      expect(out[0]).toMatchObject({ ok: true });
      expect(out[1]!.ok).toBe(false);
      expect(ERR_SEQ_CONFLICT.is((out[1] as { error: unknown }).error)).toBe(true);
      expect(out[2]).toMatchObject({ ok: true });
      expect(await count(good)).toBe(6);
      // Nothing of the conflicting batch: its other stream is not stored either.
      expect(await count(bad)).toBe(3);
    });

    it.runIf(available)(
      "groups racing over the same streams in opposite orders all commit, each record once",
      async () => {
        const devs = Array.from({ length: 6 }, (_, i) => `g-${tag}-r${i}`);
        const writers = devs.map((d) => [new StreamWriter(d, "s1", key), new StreamWriter(d, "s2", key)]);
        const groups: GroupItem[][] = [[], []];
        for (let round = 0; round < 4; round++) {
          for (const [i, d] of devs.entries()) {
            const [a, b] = writers[i]!;
            // Every batch of a device carries both streams, in alternating segment order.
            const segs =
              round % 2
                ? [a!.next(recs(round * 3 + 1, 3)), b!.next(recs(round * 3 + 1, 3))]
                : [b!.next(recs(round * 3 + 1, 3)), a!.next(recs(round * 3 + 1, 3))];
            groups[(i + round) % 2]!.push(item(d, segs));
          }
        }
        groups[1]!.reverse();
        const outs = await Promise.all(groups.map((g) => commitGroup(fresh!.db, g, 3)));
        expect(outs.flat().every((o) => o.ok)).toBe(true);
        for (const d of devs) expect(await count(d)).toBe(24);
      },
    );
  });
}
