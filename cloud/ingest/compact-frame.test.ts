import { afterAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../core/keys.ts";
import { decodeBatch, encodeBatch, frameId, HEADER_BYTES } from "../../sync/codec.ts";
import { StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { freshDb } from "../../test/helpers/services.ts";
import { registerDevice } from "../devices.ts";
import { Ingest } from "./ingest.ts";

/** Issue #15: compact (v2) frames, preset-dictionary deflate; v1 frames from older agents still accepted. */
describe("the cloud reads compact frames and still verifies every record", async () => {
  const fresh = await freshDb("sqlite");
  afterAll(() => fresh.drop());
  const device = "gw-compact";
  const key = generateKeyPair();
  await registerDevice(fresh.db, device, key.publicKeyB64, null, Date.now());
  const ingest = new Ingest(fresh.db, generateKeyPair());
  const w = new StreamWriter(device, "bus.dev1", key);
  let wall = 1_772_323_200_000;
  const records = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      wall += 100;
      return {
        t: { wall, boot: "b-1", mono: wall - 1e12, synced: true },
        kind: "block",
        body: { values: { r0: i, r1: 7 } },
      };
    });
  const stored = async () =>
    (
      await fresh.db.kysely
        .selectFrom("records")
        .select(["seq", "body"])
        .where("device", "=", device)
        .orderBy("seq")
        .execute()
    ).map((r) => r.seq);

  it("commits a v2 frame (dictionary deflate) and acks it under the id derived from its bytes", async () => {
    const frame = encodeBatch({ device, sentAt: wall + 5, segments: [w.next(records(10))] });
    expect(frame[5]).toBe(3);
    const r = await ingest.handle(upTopic(device), frame);
    expect(r.rejected).toBeUndefined();
    expect(r.ack).toMatchObject({ status: "committed", batch: frameId(frame) });
    expect(r.ack!.segments).toEqual([{ stream: "bus.dev1", from: 1, to: 10, hash: w.hash.toString("hex") }]);
    expect(await stored()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("still commits a v1 frame of an older agent (random id, head link, brotli)", async () => {
    const frame = encodeBatch(
      { device, id: "0123456789abcdef0123456789abcdef", sentAt: wall, segments: [w.next(records(5))] },
      "brotli",
    );
    const r = await ingest.handle(upTopic(device), frame);
    expect(r.ack).toMatchObject({ status: "committed", batch: "0123456789abcdef0123456789abcdef" });
    expect((await stored()).length).toBe(15);
  });

  it("refuses a compressed batch whose records were altered after signing, and stores nothing", async () => {
    // As in v1: the head signature verifies first, so records that miss it are BL_CHAIN_BROKEN,
    // answered with a signed rejection naming the frame's SHA-256 (the agent re-checks its rows).
    const seg = w.next(records(5));
    const altered = {
      ...seg,
      records: seg.records.map((x, i) => (i === 2 ? { ...x, body: { values: { r0: 99, r1: 7 } } } : x)),
    };
    for (const compression of ["deflate-dict", "brotli"] as const) {
      const r = await ingest.handle(
        upTopic(device),
        encodeBatch({ device, sentAt: wall, segments: [altered] }, compression),
      );
      expect(r.rejected?.code).toBe("BL_CHAIN_BROKEN");
      expect(r.ack).toMatchObject({ status: "rejected", code: "BL_CHAIN_BROKEN" });
    }
    // Reordered or truncated runs do not reach the signed head either.
    const reordered = { ...seg, records: [seg.records[1]!, seg.records[0]!, ...seg.records.slice(2)] };
    const truncated = { ...seg, records: seg.records.slice(0, 4) };
    const [r1, r2] = [reordered, truncated].map((s) => encodeBatch({ device, sentAt: wall, segments: [s] }));
    expect((await ingest.handle(upTopic(device), r1!)).rejected?.code).toBe("BL_CHAIN_BROKEN");
    // Four records under the head signed at seq 5: the signature does not verify at seq 4.
    expect((await ingest.handle(upTopic(device), r2!)).rejected?.code).toBe("BL_BAD_SIGNATURE");
    // Flipped bits anywhere in the compressed payload: refused, never committed.
    const good = encodeBatch({ device, sentAt: wall, segments: [seg] });
    let genuineIn = false;
    for (let at = HEADER_BYTES; at < good.length; at += 7) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x10;
      // A flip may land where deflate ignores it (padding after the last block) or in the unsigned
      // send time: then the records are the genuine ones. Anything else is refused.
      let same = false;
      try {
        const d = decodeBatch(bad);
        same = JSON.stringify(d.segments) === JSON.stringify(decodeBatch(good).segments);
      } catch {}
      const r = await ingest.handle(upTopic(device), bad);
      if (same) {
        genuineIn ||= r.ack?.status === "committed";
        continue;
      }
      expect(r.ack?.status ?? "none").not.toBe("committed");
      expect([
        "BL_BAD_BATCH",
        "BL_BAD_SIGNATURE",
        "BL_CHAIN_BROKEN",
        "BL_BAD_RECORD",
        "BL_TOPIC_MISMATCH",
      ]).toContain(r.rejected?.code);
    }
    expect((await stored()).length).toBe(genuineIn ? 20 : 15);
    // The genuine one commits.
    const ok = await ingest.handle(upTopic(device), good);
    expect(ok.ack?.status).toBe("committed");
    expect((await stored()).length).toBe(20);
  });

  it("refuses a v2 run signed by another key", async () => {
    const thief = new StreamWriter(device, "bus.dev1", generateKeyPair());
    thief.seq = w.seq;
    thief.hash = w.hash;
    const r = await ingest.handle(
      upTopic(device),
      encodeBatch({ device, sentAt: wall, segments: [thief.next(records(3))] }),
    );
    expect(r.rejected?.code).toBe("BL_BAD_SIGNATURE");
  });
});
