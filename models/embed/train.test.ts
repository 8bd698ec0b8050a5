import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelEval, modelTrain } from "../cli.ts";
import { PRETRAINED_DIR } from "../pipeline/model-dir.ts";
import { ensureRuntime } from "../runtime.ts";
import { generateDataset } from "../synth/dataset.ts";
import { tmpPath } from "../test-helpers.ts";
import { sha256File } from "./card.ts";

const data = tmpPath("train");

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  await generateDataset({ dir: data, pigs: 12, perPig: 6, seed: 3 });
});

afterAll(() => rmSync(data, { recursive: true, force: true }));

describe("model train (brief) and eval", () => {
  it("trains on wasm, lowers the loss, and writes a versioned model with its card", async () => {
    const out = tmpPath("out");
    const r = await modelTrain({ data, out, epochs: 4, version: "t1", progress: false });
    expect(r.dir).toBe(join(out, "t1"));
    for (const f of ["model.json", "weights.bin", "card.json", "card.md"])
      expect(existsSync(join(r.dir, f))).toBe(true);
    const card = JSON.parse(readFileSync(join(r.dir, "card.json"), "utf8"));
    expect(card).toMatchObject({ version: "t1", backend: "wasm", data: { classes: 12, images: 72 } });
    expect(card.files["weights.bin"]).toBe(sha256File(join(r.dir, "weights.bin")));
    expect(card.training.losses.at(-1)).toBeLessThan(card.training.losses[0]);
    const e = await modelEval({ data, model: r.dir, progress: false });
    expect(e.metrics.model).toBe("t1");
    expect(e.metrics.rank1).toBeGreaterThan(0.2);
  });

  it("fine-tunes the shipped model (--init) and records where it started", async () => {
    const r = await modelTrain({
      data,
      out: tmpPath("out"),
      epochs: 1,
      init: PRETRAINED_DIR,
      version: "t2",
      progress: false,
    });
    expect(r.card.training.initFrom).toBe("pigface-synth-1");
    expect(r.card.embeddingDim).toBe(64);
  });
});
