import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../core/canonical.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { genesis, link, type RecordData, signHead, verifyHead, verifyRun } from "../../sync/chain.ts";
import {
  type Batch,
  columnRecords,
  decodeBatch,
  encodeBatch,
  FrameReader,
  HEADER_BYTES,
  type RecordColumns,
  type StoredSegment,
  segmentRecords,
} from "../../sync/codec.ts";

const t = (i: number) => ({
  wall: 1_700_000_000_000 + i * 1000,
  boot: "b1",
  mono: 5000 + i * 1000,
  synced: true,
});
function records(n: number, stream = "env.temperature"): RecordData[] {
  return Array.from({ length: n }, (_, i) => ({
    device: "barn-1",
    stream,
    seq: i + 1,
    t: t(i),
    kind: "reading",
    body: { value: 20 + i / 10, unit: "degC" },
  }));
}
function chainOf(rs: RecordData[]) {
  let h = genesis("barn-1", rs[0]!.stream);
  for (const r of rs) h = link(h, r);
  return h;
}

describe("hash chain and head signatures", () => {
  const key = generateKeyPair();
  const rs = records(10);
  const head = chainOf(rs);
  const g = genesis("barn-1", "env.temperature");

  it("verifies an intact run and its signed head", () => {
    expect(verifyRun(g, rs, head).ok).toBe(true);
    const sig = signHead(key.privateKey, "barn-1", "env.temperature", 10, head);
    expect(verifyHead(key.publicKey, "barn-1", "env.temperature", 10, head, sig)).toBe(true);
  });
  it("rejects a tampered record", () => {
    const bad = rs.map((r) => ({ ...r }));
    bad[4] = { ...bad[4]!, body: { value: 99, unit: "degC" } };
    expect(verifyRun(g, bad, head).ok).toBe(false);
  });
  it("rejects reordered records", () => {
    const bad = [...rs];
    [bad[2], bad[3]] = [bad[3]!, bad[2]!];
    expect(verifyRun(g, bad, head).ok).toBe(false);
  });
  it("rejects a truncated run", () => {
    expect(verifyRun(g, rs.slice(0, 9), head).ok).toBe(false);
  });
  it("rejects a changed capture time", () => {
    const bad = rs.map((r, i) => (i === 0 ? { ...r, t: { ...r.t, wall: r.t.wall + 1 } } : r));
    expect(verifyRun(g, bad, head).ok).toBe(false);
  });
  it("rejects a head signed by another key, for another stream or another seq", () => {
    const other = generateKeyPair();
    const sig = signHead(other.privateKey, "barn-1", "env.temperature", 10, head);
    expect(verifyHead(key.publicKey, "barn-1", "env.temperature", 10, head, sig)).toBe(false);
    const mine = signHead(key.privateKey, "barn-1", "env.temperature", 10, head);
    expect(verifyHead(key.publicKey, "barn-1", "env.humidity", 10, head, mine)).toBe(false);
    expect(verifyHead(key.publicKey, "barn-1", "env.temperature", 9, head, mine)).toBe(false);
    expect(verifyHead(key.publicKey, "barn-2", "env.temperature", 10, head, mine)).toBe(false);
  });
  it("binds genesis to device and stream", () => {
    expect(genesis("a", "s").equals(genesis("a", "t"))).toBe(false);
    expect(genesis("a", "s").equals(genesis("b", "s"))).toBe(false);
  });
});

describe("batch codec", () => {
  const key = generateKeyPair();
  const rs = records(50);
  const head = chainOf(rs);
  const batch: Batch = {
    device: "barn-1",
    id: "0123456789abcdef0123456789abcdef",
    sentAt: 1_700_000_000_000,
    segments: [
      {
        type: "records",
        stream: "env.temperature",
        first: 1,
        prev: genesis("barn-1", "env.temperature"),
        records: rs.map((r) => ({ t: r.t, kind: r.kind, body: r.body })),
        head: { hash: head, sig: signHead(key.privateKey, "barn-1", "env.temperature", 50, head) },
      },
      {
        type: "gap",
        stream: "media.cam1",
        from: 3,
        to: 9,
        reason: "quota",
        prev: Buffer.alloc(32, 1),
        head: { hash: Buffer.alloc(32, 2), sig: Buffer.alloc(64, 3) },
      },
    ],
  };
  for (const comp of ["none", "deflate", "brotli"] as const) {
    it(`round-trips records exactly (${comp}) so the chain still verifies`, () => {
      const back = decodeBatch(encodeBatch(batch, comp));
      expect(back.device).toBe("barn-1");
      const seg = back.segments[0]!;
      if (seg.type !== "records") throw new Error("expected records");
      const full = segmentRecords("barn-1", seg);
      expect(full).toEqual(rs);
      expect(verifyRun(seg.prev, full, seg.head.hash).ok).toBe(true);
      expect(back.segments[1]).toEqual(batch.segments[1]);
    });
  }
  it("keeps mixed kinds, boots and unsynced times", () => {
    const mixed: Batch = {
      ...batch,
      segments: [
        {
          type: "records",
          stream: "mixed",
          first: 7,
          prev: Buffer.alloc(32),
          records: [
            {
              t: { wall: 1, boot: "a", mono: 10, synced: false },
              kind: "event",
              body: { input: "door", state: true },
            },
            {
              t: { wall: 5, boot: "b", mono: 3, synced: true },
              kind: "reading",
              body: { value: 1.5, unit: "%" },
            },
          ],
          head: { hash: Buffer.alloc(32), sig: Buffer.alloc(64) },
        },
      ],
    };
    expect(decodeBatch(encodeBatch(mixed)).segments).toEqual(mixed.segments);
  });
  it("names what is wrong in garbage", () => {
    expect(() => decodeBatch(Buffer.from("hello"))).toThrow(/too short/);
    expect(() => decodeBatch(Buffer.from("hello world, not a batch"))).toThrow(/magic/);
    const good = encodeBatch(batch);
    expect(() => decodeBatch(good.subarray(0, good.length - 5))).toThrow(/truncated/);
    const corrupt = Buffer.from(good);
    corrupt[20] = corrupt[20]! ^ 0xff;
    expect(() => decodeBatch(corrupt)).toThrow(/BL_BAD_BATCH|decompress|JSON|field/);
    try {
      decodeBatch(corrupt);
    } catch (e) {
      expect((e as { code: string }).code).toBe("BL_BAD_BATCH");
    }
  });
  it("reads frames back to back with bytes between them (mosquitto_sub -F %p output)", () => {
    const f = encodeBatch(batch);
    const stream = Buffer.concat([f, Buffer.from("\n"), f, Buffer.from("\n")]);
    const r = new FrameReader();
    const out = [...r.push(stream.subarray(0, 37)), ...r.push(stream.subarray(37))];
    expect(out.filter((o) => o.batch).length).toBe(2);
  });
});

describe("stored segments (the outbox's columns, bodies as canonical text)", () => {
  const reading = fc.record(
    {
      value: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      unit: fc.oneof(
        fc.constantFrom("degC", "%RH", "ppm", 'a"b\\c', "µS/cm", "😀"),
        fc.string({ maxLength: 16 }),
      ),
      quality: fc.constantFrom("ok", "suspect"),
    },
    { requiredKeys: ["value", "unit"] },
  );
  const column = fc.array(
    fc.record({
      kind: fc.constantFrom("reading", "reading", "reading", "event"),
      reading,
      other: fc.jsonValue(),
      boot: fc.constantFrom("b1", "b2"),
      synced: fc.boolean(),
      dw: fc.integer({ min: -5000, max: 5000 }),
    }),
    { minLength: 1, maxLength: 40 },
  );
  const key = generateKeyPair();
  const stored = (rows: Array<Record<string, unknown>>) => {
    let wall = 1_700_000_000_000;
    const c: RecordColumns = { wall: [], mono: [], synced: [], kind: [], boot: [], body: [] };
    for (const r of rows as Array<{
      kind: string;
      reading: object;
      other: unknown;
      boot: string;
      synced: boolean;
      dw: number;
    }>) {
      wall += r.dw;
      c.wall.push(wall);
      c.mono.push(wall - 1_699_999_000_000);
      c.synced.push(r.synced);
      c.kind.push(r.kind);
      c.boot.push(r.boot);
      c.body.push(canonicalJson(r.kind === "reading" ? r.reading : r.other));
    }
    const seg: StoredSegment = {
      type: "stored",
      stream: "env.temperature",
      first: 7,
      prev: Buffer.alloc(32, 1),
      columns: c,
      head: {
        hash: Buffer.alloc(32, 2),
        sig: signHead(key.privateKey, "barn-1", "env.temperature", 7, Buffer.alloc(32, 2)),
      },
    };
    return seg;
  };

  it("decode to exactly what the same records encode to, readings cut to columns from their text", () => {
    fc.assert(
      fc.property(column, fc.boolean(), (rows, allReadings) => {
        const seg = stored(allReadings ? rows.map((r) => ({ ...r, kind: "reading" })) : rows);
        const { type: _, columns, ...rest } = seg;
        const viaRecords = decodeBatch(
          encodeBatch(
            {
              device: "barn-1",
              id: "a".repeat(32),
              sentAt: 1,
              segments: [{ ...rest, type: "records", records: columnRecords(columns) }],
            },
            "none",
          ),
        );
        const frame = encodeBatch(
          { device: "barn-1", id: "a".repeat(32), sentAt: 1, segments: [seg] },
          "none",
        );
        expect(decodeBatch(frame)).toEqual(viaRecords);
        // Bodies still canonicalise to the stored text (the chain covers that text).
        const got = decodeBatch(frame).segments[0]!;
        if (got.type !== "records") throw new Error("records expected");
        expect(got.records.map((r) => canonicalJson(r.body))).toEqual(columns.body);
        // A run of readings of one shape travels as columns, cut from the text without parsing.
        const qualities = new Set(rows.map((r) => "quality" in r.reading));
        if (allReadings && qualities.size === 1)
          expect(frame.subarray(HEADER_BYTES).toString()).toContain('"b":{"c":{');
      }),
      { numRuns: 1000 },
    );
  });
});
