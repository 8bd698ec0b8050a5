import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../../test/helpers/services.ts";
import { MemoryOutbox } from "./memory-outbox.ts";
import { outboxContract } from "./outbox-contract.ts";
import { SqliteOutbox } from "./sqlite-outbox.ts";

outboxContract("SQLite", () => new SqliteOutbox(join(tmpDir(), "outbox.db"), "barn-1"));
outboxContract("in memory", () => new MemoryOutbox("barn-1"));

describe("the two outboxes", () => {
  it("give the same seqs, links and runs for the same appends (random streams, sizes and acks)", () => {
    let x = 42;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    const sq = new SqliteOutbox(join(tmpDir(), "outbox.db"), "barn-1");
    const mem = new MemoryOutbox("barn-1");
    let i = 0;
    for (let round = 0; round < 60; round++) {
      const items = Array.from({ length: 1 + rnd(90) }, () => {
        i++;
        const stream = ["env.a", "env.b", "pen.c"][rnd(3)]!;
        return {
          stream,
          kind: "reading",
          body: { value: i, unit: "C" },
          t: { wall: 1e12 + i, boot: "b", mono: i, synced: rnd(2) === 0 },
        };
      });
      const a = sq.append(items);
      expect(mem.append(items)).toEqual(a);
      if (rnd(3) === 0) {
        const r = a[rnd(a.length)]!;
        const from = Math.max(1, r.seq - rnd(5));
        expect(mem.acknowledge(r.stream, from, r.seq, r.hash)).toBe(
          sq.acknowledge(r.stream, from, r.seq, r.hash),
        );
      }
      const limits = { maxRecords: 1 + rnd(200), maxBytes: 200 + rnd(20_000) };
      expect(mem.pending(limits, new Map())).toEqual(sq.pending(limits, new Map()));
    }
    expect(mem.status()).toEqual(sq.status());
    expect(mem.heads()).toEqual(sq.heads());
    sq.close();
  });
});
