import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { verifyRun } from "../chain.ts";
import { columnRecords } from "../codec.ts";
import { ERR_OUTBOX_FULL } from "../errors.ts";
import { SqliteOutbox, type StorageEvent } from "./sqlite-outbox.ts";

const t = (i: number) => ({ wall: 1_700_000_000_000 + i, boot: "b", mono: i, synced: true });
const reading = (i: number, stream = "env.temperature") => ({
  stream,
  kind: "reading",
  body: { value: i, unit: "degC" },
  t: t(i),
});
const census = (i: number) => ({
  stream: "census",
  kind: "census",
  body: { barn: "a", from: i, to: i + 1, count: 500, method: "manual" },
  t: t(i),
});
const media = (i: number) => ({
  stream: "cam.media",
  kind: "media",
  body: { camera: "c1", mime: "image/jpeg", sha256: "a".repeat(64), dataB64: "x".repeat(2000) },
  t: t(i),
});

describe("outbox quota and eviction", () => {
  it("evicts media first, then the oldest telemetry, recording each range as a gap that chains", () => {
    const events: StorageEvent[] = [];
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", {
      quota: 60_000,
      onStorage: (e) => events.push(e),
    });
    for (let i = 1; i <= 10; i++) ob.append([media(i)]);
    for (let i = 1; i <= 300; i++) ob.append([reading(i), census(i)]);
    const st = Object.fromEntries(ob.status().map((s) => [s.stream, s]));
    expect(st["cam.media"]!.evicted).toBe(10);
    expect(st["env.temperature"]!.evicted).toBeGreaterThan(0);
    expect(st.census).toMatchObject({ evicted: 0, pending: 300, lastSeq: 300 });
    expect(ob.status().reduce((n, s) => n + s.pendingBytes, 0)).toBeLessThanOrEqual(60_000);
    const items = ob.pending({ maxRecords: 100_000, maxBytes: 1e9 }, new Map());
    const gaps = items.filter((i) => i.type === "gap");
    expect(gaps.map((g) => g.stream)).toContain("cam.media");
    // Gaps and remaining records of the temperature stream tile 1..300 exactly, and chain.
    const temp = items
      .filter((i) => i.stream === "env.temperature")
      .map((i) => (i.type === "gap" ? [i.from, i.to, i.prev, i.hash] : [i.first, i.last, i.prev, i.hash]))
      .sort((a, b) => (a[0] as number) - (b[0] as number));
    let next = 1;
    let prev: Buffer | undefined;
    for (const [from, to, p, h] of temp) {
      expect(from).toBe(next);
      if (prev) expect((p as Buffer).equals(prev)).toBe(true);
      next = (to as number) + 1;
      prev = h as Buffer;
    }
    expect(next).toBe(301);
    expect(events.some((e) => e.type === "evicted")).toBe(true);
    ob.close();
  });

  it("when only never-evict data is left: raises full, refuses telemetry, keeps evidence and alarms", () => {
    const events: StorageEvent[] = [];
    let free = 10e9;
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", {
      quota: 20_000,
      minFreeDisk: 1e6,
      freeDisk: () => free,
      onStorage: (e) => events.push(e),
    });
    for (let i = 1; i <= 200; i++) ob.append([census(i)]);
    expect(events.find((e) => e.type === "full")).toMatchObject({ active: true });
    expect(() => ob.append([reading(1)])).toThrow(/outbox full/);
    expect(ob.refused).toBe(1);
    expect(ERR_OUTBOX_FULL.spec.statusCode).toBe(507);
    ob.append([census(201)]);
    // Below the disk floor evidence is refused too; alarms still go in.
    free = 0;
    (ob as unknown as { diskCheckedAt: number }).diskCheckedAt = -Infinity;
    expect(() => ob.append([census(202)])).toThrow(/outbox full/);
    ob.append([
      {
        stream: "alarms",
        kind: "alarm",
        body: { code: "outbox.full", severity: "critical", subject: "outbox", active: true, message: "full" },
        t: t(1),
      },
    ]);
    const st = Object.fromEntries(ob.status().map((s) => [s.stream, s]));
    expect(st.census).toMatchObject({ lastSeq: 201, evicted: 0 });
    expect(st.alarms).toMatchObject({ lastSeq: 1 });
    ob.close();
  });

  it("acknowledges a gap only with the link it holds at `to`, and counts evictions across restarts", () => {
    const path = join(tmpDir(), "o.db");
    const ob = new SqliteOutbox(path, "barn-1", { quota: 5_000 });
    for (let i = 1; i <= 100; i++) ob.append([reading(i)]);
    const gaps = ob.pending({ maxRecords: 10, maxBytes: 1e9 }, new Map()).filter((i) => i.type === "gap");
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) {
      if (gap.type !== "gap") throw new Error("gap expected");
      expect(ob.acknowledge(gap.stream, gap.from, gap.to, Buffer.alloc(32))).toBe(-1);
      expect(ob.acknowledge(gap.stream, gap.from, gap.to, gap.hash)).toBe(0);
    }
    const evicted = ob.status()[0]!.evicted;
    ob.close();
    const again = new SqliteOutbox(path, "barn-1", { quota: 5_000 });
    expect(again.status()[0]!.evicted).toBe(evicted);
    const rest = again.pending({ maxRecords: 1000, maxBytes: 1e9 }, new Map());
    expect(rest.every((i) => i.type === "records")).toBe(true);
    const run = rest[0]!;
    if (run.type !== "records") throw new Error("records expected");
    expect(
      verifyRun(
        run.prev,
        columnRecords(run.columns).map((r, k) => ({
          device: "barn-1",
          stream: run.stream,
          seq: run.first + k,
          ...r,
        })),
        run.hash,
      ).ok,
    ).toBe(true);
    again.close();
  });
});

describe("a full outbox and a call that mixes classes", () => {
  it("keeps the evidence and alarms of the call, refuses only its readings, and says which", () => {
    const ob = new SqliteOutbox(join(tmpDir(), "o.db"), "barn-1", { quota: 20_000 });
    for (let i = 1; i <= 200; i++) ob.append([census(i)]);
    const alarm = {
      stream: "alarms",
      kind: "alarm",
      body: { code: "x", severity: "critical", subject: "s", active: true, message: "m" },
      t: t(1),
    };
    let err: unknown;
    try {
      ob.append([reading(1), census(201), reading(2), alarm]);
    } catch (e) {
      err = e;
    }
    expect(ERR_OUTBOX_FULL.is(err)).toBe(true);
    const details = (
      err as { details: { appended: Array<{ stream: string; seq: number }>; refused: number } }
    ).details;
    expect(details.refused).toBe(2);
    expect(details.appended.map((r) => [r.stream, r.seq])).toEqual([
      ["census", 201],
      ["alarms", 1],
    ]);
    expect(ob.refused).toBe(2);
    const st = Object.fromEntries(ob.status().map((s) => [s.stream, s]));
    expect(st.census).toMatchObject({ lastSeq: 201 });
    expect(st.alarms).toMatchObject({ lastSeq: 1 });
    expect(st["env.temperature"]).toBeUndefined();
    ob.close();
  });
});
