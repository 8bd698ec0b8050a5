import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { upTopic } from "../../sync/topics.ts";
import { freshDb } from "../../test/helpers/services.ts";
import { Ingest } from "./ingest.ts";

/** Issue #13: "2,000 junk messages grew the cloud database from 7.8 MB to 187.6 MB". */
describe("the cost of junk is bounded", async () => {
  const fresh = await freshDb("sqlite");
  afterAll(() => fresh.drop());
  const rows = () =>
    fresh.db.kysely
      .selectFrom("rejects")
      .select((eb) => [
        eb.fn.countAll<number>().as("n"),
        eb.fn.sum<number>("suppressed").as("suppressed"),
        eb.fn.sum<number>(eb.fn("length", ["payload_b64"])).as("kept"),
      ])
      .executeTakeFirstOrThrow();

  it("2,000 junk messages of 64 KiB: all counted, a capped sample kept, a few KiB stored", async () => {
    let now = 1_000_000;
    const ingest = new Ingest(fresh.db, generateKeyPair(), undefined, () => now);
    const junk = randomBytes(64 * 1024);
    for (let i = 0; i < 2000; i++) await ingest.handle(upTopic("farm-x"), junk);
    expect(ingest.counters.rejected).toBe(2000);
    const r = await rows();
    expect(Number(r.n)).toBe(30); // the per-device cap for one minute
    expect(Number(r.kept)).toBeLessThanOrEqual(30 * 344); // 256 bytes each, base64
    // Each sample carries the hash and size of the whole payload.
    const s = await fresh.db.kysely.selectFrom("rejects").selectAll().limit(1).executeTakeFirstOrThrow();
    expect(s).toMatchObject({ payload_bytes: 64 * 1024, code: "BL_BAD_BATCH" });
    expect(s.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
    // The next minute's first sample carries the count of those not sampled: nothing is uncounted.
    now += 60_000;
    await ingest.handle(upTopic("farm-x"), junk);
    expect(Number((await rows()).n) + Number((await rows()).suppressed)).toBe(2001);
  });

  it("prunes per device, in all and by age", async () => {
    let now = 10_000_000;
    const ingest = new Ingest(fresh.db, generateKeyPair(), undefined, () => now, {
      keepBytes: 16,
      perDevicePerMinute: 1000,
      globalPerMinute: 1000,
      keepPerDevice: 50,
      keepTotal: 80,
      maxAgeMs: 3_600_000,
    });
    for (let i = 0; i < 120; i++) await ingest.handle(upTopic(`farm-${i % 3}`), Buffer.from(`junk ${i}`));
    await ingest.rejects.prune(now);
    const per = await fresh.db.kysely
      .selectFrom("rejects")
      .select(["device", (eb) => eb.fn.countAll<number>().as("n")])
      .where("device", "like", "farm-_")
      .groupBy("device")
      .execute();
    for (const p of per) expect(Number(p.n)).toBeLessThanOrEqual(50);
    expect(Number((await rows()).n)).toBeLessThanOrEqual(80);
    now += 2 * 3_600_000;
    await ingest.rejects.prune(now);
    expect(Number((await rows()).n)).toBe(0);
  });
});
