import { describe, expect, it } from "vitest";
import type { IngestResult, Prepared } from "./ingest.ts";
import { IngestPipeline, type PipelineIngest } from "./pipeline.ts";

/** A fake ingest whose commits finish only when the test says so: groups are then exact, not timed. */
function gatedIngest() {
  const groups: string[][] = [];
  const gates: Array<() => void> = [];
  const ingest: PipelineIngest = {
    prepare: async (topic) =>
      ({ kind: "done", result: { rejected: { code: topic, reason: "" } } }) as Prepared,
    complete: async (prepared) => {
      groups.push(prepared.map((p) => (p as { result: IngestResult }).result.rejected!.code));
      await new Promise<void>((r) => gates.push(r));
      return prepared.map((p) => (p as { result: IngestResult }).result);
    },
  };
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { ingest, groups, release };
}

describe("IngestPipeline", () => {
  it("commits one batch when idle and everything that queued behind a busy commit as one group", async () => {
    const g = gatedIngest();
    const p = new IngestPipeline(g.ingest, { maxGroup: 64 });
    const first = p.push("b0", Buffer.alloc(0));
    const rest = Array.from({ length: 9 }, (_, i) => p.push(`b${i + 1}`, Buffer.alloc(0)));
    await g.release();
    await g.release();
    const results = await Promise.all([first, ...rest]);
    expect(g.groups).toEqual([["b0"], ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"]]);
    expect(results.map((r) => r.rejected!.code)).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`));
    expect(p.stats).toMatchObject({ groups: 2, batches: 10, largestGroup: 9 });
    expect(p.depth).toBe(0);
  });

  it("caps a group at maxGroup", async () => {
    const g = gatedIngest();
    const p = new IngestPipeline(g.ingest, { maxGroup: 3 });
    const all = Array.from({ length: 7 }, (_, i) => p.push(`b${i}`, Buffer.alloc(0)));
    for (let i = 0; i < 3; i++) await g.release();
    await Promise.all(all);
    expect(g.groups.map((x) => x.length)).toEqual([1, 3, 3]);
  });

  it("is full at maxInFlight until a commit answers, then lets the subscriber read on", async () => {
    const g = gatedIngest();
    const p = new IngestPipeline(g.ingest, { maxInFlight: 2 });
    void p.push("a", Buffer.alloc(0));
    expect(p.full).toBe(false);
    void p.push("b", Buffer.alloc(0));
    expect(p.full).toBe(true);
    let resumed = false;
    const room = p.whenNotFull().then(() => {
      resumed = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(false);
    await g.release();
    await room;
    expect(resumed).toBe(true);
    expect(p.depth).toBe(1);
    await g.release();
    await p.drain();
    expect(p.depth).toBe(0);
  });

  it("answers every batch of a group with the error when the commit itself throws", async () => {
    const p = new IngestPipeline({
      prepare: async () => ({ kind: "done", result: {} }) as Prepared,
      complete: async () => {
        throw new Error("database gone");
      },
    });
    const outs = await Promise.allSettled([p.push("a", Buffer.alloc(0)), p.push("b", Buffer.alloc(0))]);
    expect(outs.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    expect(p.depth).toBe(0);
  });
});
