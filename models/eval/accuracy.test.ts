import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelEval } from "../cli.ts";
import { PRETRAINED_DIR } from "../pipeline/model-dir.ts";
import { ensureRuntime } from "../runtime.ts";
import { generateDataset } from "../synth/dataset.ts";
import { tmpPath } from "../test-helpers.ts";

const data = tmpPath("heldout");

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  // A herd the shipped model never saw: another seed than the training herd's (seed 11).
  await generateDataset({ dir: data, pigs: 80, perPig: 8, seed: 77 });
});

afterAll(() => rmSync(data, { recursive: true, force: true }));

describe("shipped model on held-out synthetic pigs", () => {
  it("reaches ≥ 95% rank-1 and rejects ≥ 90% of never-enrolled pigs at FAR 1%", async () => {
    const r = await modelEval({ data, model: PRETRAINED_DIR, progress: false });
    expect(r.metrics.queries).toBeGreaterThan(100);
    expect(r.metrics.unknownQueries).toBeGreaterThan(100);
    expect(r.metrics.rank1).toBeGreaterThanOrEqual(0.95);
    expect(r.metrics.unknownRejection).toBeGreaterThanOrEqual(0.9);
    expect(r.table).toMatch(/rank-1/);
    expect(r.metrics.far).toBe(0.01);
    expect(r.metrics.threshold).toBeGreaterThan(0);
    expect(r.metrics.calibrationQueries).toBeGreaterThan(100);
  });
});
