import { describe, expect, it } from "vitest";
import { upTopic } from "../../sync/topics.ts";
import type { IngestResult, Prepared } from "./ingest.ts";
import { IngestPipeline, type PipelineIngest } from "./pipeline.ts";

/** A fake ingest that records each group (as topic:n labels) and holds its commit until released. */
function gatedLanes(lanes: number) {
  const groups: string[][] = [];
  const gates: Array<() => void> = [];
  let open = 0;
  let mostOpen = 0;
  const ingest: PipelineIngest = {
    lanes,
    prepare: async (topic, payload) =>
      ({
        kind: "done",
        result: { rejected: { code: `${topic}:${payload.toString()}`, reason: "" } },
      }) as Prepared,
    complete: async (prepared) => {
      groups.push(prepared.map((p) => (p as { result: IngestResult }).result.rejected!.code));
      open++;
      mostOpen = Math.max(mostOpen, open);
      await new Promise<void>((r) => gates.push(r));
      open--;
      return prepared.map((p) => (p as { result: IngestResult }).result);
    },
  };
  const releaseAll = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    for (const g of gates.splice(0)) g();
  };
  return { ingest, groups, releaseAll, mostOpen: () => mostOpen };
}

describe("IngestPipeline lanes", () => {
  it("commits groups of different lanes at once, each device in one lane and in order", async () => {
    const g = gatedLanes(3);
    const p = new IngestPipeline(g.ingest, { maxGroup: 4 });
    expect(p.lanes).toBe(3);
    const devices = Array.from({ length: 12 }, (_, i) => `d${i}`);
    const all: Array<Promise<IngestResult>> = [];
    for (let n = 0; n < 5; n++) for (const d of devices) all.push(p.push(upTopic(d), Buffer.from(String(n))));
    while (p.depth > 0) {
      await g.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(all);
    // Every batch answered with its own result.
    expect(results.map((r) => r.rejected!.code)).toEqual(
      Array.from({ length: 5 }, (_, n) => devices.map((d) => `${upTopic(d)}:${n}`)).flat(),
    );
    expect(g.mostOpen()).toBeGreaterThan(1);
    expect(g.mostOpen()).toBeLessThanOrEqual(3);
    // A device's batches: always the same lane, committed in the order they came.
    const laneOf = new Map(devices.map((d) => [d, p.laneOf(upTopic(d))]));
    const seen = new Map<string, number>();
    for (const group of g.groups) {
      const lanes = new Set(group.map((c) => laneOf.get(c.split("/")[2]!)));
      expect(lanes.size).toBe(1);
      for (const c of group) {
        const [topic, n] = c.split(":");
        const d = topic!.split("/")[2]!;
        expect(Number(n)).toBe((seen.get(d) ?? -1) + 1);
        seen.set(d, Number(n));
      }
    }
    expect([...seen.values()].every((n) => n === 4)).toBe(true);
  });

  it("is one committer without lanes from the ingest", () => {
    const p = new IngestPipeline({ prepare: async () => ({}) as Prepared, complete: async () => [] });
    expect(p.lanes).toBe(1);
    expect(p.laneOf("anything")).toBe(0);
  });
});
