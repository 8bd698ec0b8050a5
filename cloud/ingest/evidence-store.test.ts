import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ERR_SEQ_CONFLICT } from "../../core/errors.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { freshDb, postgresAvailable } from "../../test/helpers/services.ts";
import { commitSegments } from "./evidence-store.ts";
import { verifyBatch } from "./verify.ts";

const key = generateKeyPair();
const recs = (from: number, n: number, unit = "degC") =>
  Array.from({ length: n }, (_, i) => ({
    t: { wall: 1_760_000_000_000 + (from + i) * 1000, boot: "b1", mono: (from + i) * 1000, synced: true },
    kind: "reading",
    body: { value: from + i, unit },
  }));

/** The store's rules on the bulk paths: idempotent, conflicts rejected whole, neighbours checked, committed_seq. */
for (const dialect of ["sqlite", "postgres"] as const) {
  describe(`commitSegments on ${dialect}`, async () => {
    const available = dialect === "sqlite" || (await postgresAvailable());
    const fresh = available ? await freshDb(dialect) : undefined;
    afterAll(() => fresh?.drop());
    const device = `d-${randomBytes(3).toString("hex")}`;
    const commit = (segs: Parameters<typeof batchOf>[1]) =>
      commitSegments(fresh!.db, device, verifyBatch(batchOf(device, segs), key.publicKey), 1);
    const stream = async (name: string) =>
      fresh!.db.kysely
        .selectFrom("streams")
        .selectAll()
        .where("device", "=", device)
        .where("stream", "=", name)
        .executeTakeFirstOrThrow();
    const count = async (name: string) =>
      Number(
        (
          await fresh!.db.kysely
            .selectFrom("records")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("device", "=", device)
            .where("stream", "=", name)
            .executeTakeFirstOrThrow()
        ).n,
      );

    it.runIf(available)(
      "stores out of order, advances committed_seq over stored runs and gaps, re-commits as no-ops",
      async () => {
        const w = new StreamWriter(device, "a", key);
        const s1 = w.next(recs(1, 5));
        const s2 = w.next(recs(6, 5));
        const g = w.gap(recs(11, 5));
        const s4 = w.next(recs(16, 5));
        expect((await commit([s4])).inserted).toBe(5);
        expect(Number((await stream("a")).committed_seq)).toBe(0);
        await commit([s1]);
        expect(Number((await stream("a")).committed_seq)).toBe(5);
        await commit([g]);
        expect(Number((await stream("a")).committed_seq)).toBe(5);
        const r = await commit([s2]);
        expect(r).toMatchObject({ inserted: 5, duplicates: 0 });
        const st = await stream("a");
        expect(st).toMatchObject({ chain_ok: 1, head_hash: s4.head.hash.toString("hex") });
        expect(Number(st.committed_seq)).toBe(20);
        expect(Number(st.max_seq)).toBe(20);
        expect(Number(st.count)).toBe(15);
        expect(await commit([s1, s2])).toMatchObject({ inserted: 0, duplicates: 10 });
        expect(Number((await stream("a")).count)).toBe(15);
      },
    );

    it.runIf(available)(
      "rejects different content at a stored seq and stores nothing of that batch",
      async () => {
        const w = new StreamWriter(device, "b", key);
        await commit([w.next(recs(1, 3))]);
        const other = new StreamWriter(device, "b", key);
        const fork = other.next(recs(1, 3, "degF"));
        const fresh2 = new StreamWriter(device, "c", key).next(recs(1, 2));
        await expect(commit([fresh2, fork])).rejects.toSatisfy((e) => ERR_SEQ_CONFLICT.is(e));
        expect(await count("c")).toBe(0);
        expect(await count("b")).toBe(3);
      },
    );

    it.runIf(available)(
      "marks the chain broken when a range does not link to its stored neighbours",
      async () => {
        const w = new StreamWriter(device, "d", key);
        await commit([w.next(recs(1, 3))]);
        // Before: seq 4.. whose prev is not the stored link at 3.
        const fork = new StreamWriter(device, "d", key);
        fork.seq = 3;
        fork.hash = randomBytes(32);
        await commit([fork.next(recs(4, 2))]);
        expect(await stream("d")).toMatchObject({ chain_ok: 0 });
        expect((await stream("d")).chain_error).toMatch(/seq 3/);
        // After: a range stored first at 20.., then 17..19 whose last link is not the prev of 20.
        const w2 = new StreamWriter(device, "e", key);
        w2.seq = 19;
        w2.hash = randomBytes(32);
        await commit([w2.next(recs(20, 2))]);
        expect(await stream("e")).toMatchObject({ chain_ok: 1 });
        const w3 = new StreamWriter(device, "e", key);
        w3.seq = 16;
        w3.hash = randomBytes(32);
        await commit([w3.next(recs(17, 3))]);
        expect(await stream("e")).toMatchObject({ chain_ok: 0 });
        expect((await stream("e")).chain_error).toMatch(/seq 19/);
      },
    );
  });
}
