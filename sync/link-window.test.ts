import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import { verifyHead } from "./chain.ts";
import { decodeBatch, frameId, noColumns } from "./codec.ts";
import { PRIORITY } from "./kinds.ts";
import { buildBatch, DailyBudget, expired, type InFlight, SendCursors } from "./link-window.ts";
import type { PendingGap, PendingRun } from "./outbox/types.ts";

const run = (stream: string, first: number, last: number, priority = PRIORITY.telemetry): PendingRun => {
  const columns = noColumns();
  for (let s = first; s <= last; s++) {
    columns.wall.push(1e12 + s);
    columns.mono.push(s);
    columns.synced.push(true);
    columns.kind.push("reading");
    columns.boot.push("b");
    columns.body.push(`{"unit":"C","value":${s}}`);
  }
  return {
    type: "records",
    stream,
    first,
    last,
    prev: Buffer.alloc(32, 1),
    hash: Buffer.alloc(32, 2),
    columns,
    bytes: 90,
    priority,
  };
};
const gap = (stream: string, from: number, to: number): PendingGap => ({
  type: "gap",
  stream,
  from,
  to,
  reason: "quota",
  prev: Buffer.alloc(32, 3),
  hash: Buffer.alloc(32, 4),
  priority: PRIORITY.telemetry,
});

describe("SendCursors", () => {
  it("advances to the highest seq sent per stream, and rewinds a refused batch to before its first record", () => {
    const c = new SendCursors();
    c.advance([run("a", 1, 10), run("b", 1, 3), gap("a", 11, 20)]);
    c.advance([run("a", 21, 30)]);
    expect([...c.seqs]).toEqual([
      ["a", 30],
      ["b", 3],
    ]);
    expect(c.gaps.size).toBe(1);
    c.rewind([run("a", 21, 30), gap("a", 11, 20)]);
    expect(c.seqs.get("a")).toBe(20);
    expect(c.gaps.size).toBe(0);
    // A rewind never moves a cursor forward.
    c.rewind([run("b", 5, 9)]);
    expect(c.seqs.get("b")).toBe(3);
  });
});

describe("DailyBudget", () => {
  it("lets only alarms and evidence go once metered bytes reach the budget, for 24 h of monotonic time", () => {
    const b = new DailyBudget(100);
    const day = 86_400_000;
    expect(b.allowed(day)).toBe(PRIORITY.media);
    b.spend({ metered: true, frame: Buffer.alloc(60) } as InFlight);
    b.spend({ metered: false, frame: Buffer.alloc(600) } as InFlight);
    expect(b.allowed(day + 1)).toBe(PRIORITY.media);
    b.spend({ metered: true, frame: Buffer.alloc(60) } as InFlight);
    expect(b.allowed(day + 2)).toBe(PRIORITY.evidence);
    expect(b.allowed(2 * day)).toBe(PRIORITY.media);
    expect(b.used).toBe(0);
    expect(new DailyBudget().allowed(0)).toBe(PRIORITY.media);
  });
});

describe("buildBatch", () => {
  it("signs every segment's head, counts records, meters telemetry, and keeps ranges without records", () => {
    const key = generateKeyPair();
    const clock = { now: () => ({ wall: 5, mono: 5, boot: "b", synced: true }), mono: () => 5 };
    const f = buildBatch([run("a", 1, 3), gap("b", 4, 9)], { device: "d", deviceKey: key, clock });
    expect(f.records).toBe(3);
    expect(f.metered).toBe(true);
    const b = decodeBatch(f.frame);
    expect(b.id).toBe(f.id);
    expect(f.id).toBe(frameId(f.frame));
    for (const s of b.segments) {
      const end = s.type === "gap" ? s.to : s.first + s.records.length - 1;
      expect(verifyHead(key.publicKey, "d", s.stream, end, s.head.hash, s.head.sig)).toBe(true);
    }
    const kept = f.items[0] as PendingRun;
    expect(kept.columns.body).toEqual([]);
    expect([kept.first, kept.last]).toEqual([1, 3]);
    const evidence = buildBatch([run("c", 1, 1, PRIORITY.evidence)], { device: "d", deviceKey: key, clock });
    expect(evidence.metered).toBe(false);
  });
});

describe("expired", () => {
  it("names the batches whose ack is overdue", () => {
    const fs = [
      { id: "a", sentAt: 0 },
      { id: "b", sentAt: 500 },
    ] as InFlight[];
    expect(expired(fs, 1000, 1000).map((f) => f.id)).toEqual(["a"]);
    expect(expired(fs, 1500, 1000).map((f) => f.id)).toEqual(["a", "b"]);
  });
});
