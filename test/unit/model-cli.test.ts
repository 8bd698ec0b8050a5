import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../agent/cli.ts";
import { commands } from "../../agent/commands/index.ts";
import { generateDataset } from "../../models/synth/dataset.ts";

/** Runs `barnlink ARGS` in this process; returns its exit code and what it printed. */
async function run(args: string[]) {
  let stdout = "";
  let stderr = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    stdout += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    return { code: await main(args, commands), stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const data = join(tmpdir(), `bl-model-cli-${process.pid}`);
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe("barnlink model (CLI)", () => {
  it("model --help lists every subcommand; each subcommand has its own help", async () => {
    const r = await run(["model", "--help"]);
    expect(r.code).toBe(0);
    for (const sub of ["synth", "train", "adapt", "eval", "enrol", "claim", "publish", "install", "rollback"])
      expect(r.stdout).toContain(`barnlink model ${sub}`);
    expect((await run(["model"])).code).toBe(2);
    const t = await run(["model", "train", "--help"]);
    expect(t.code).toBe(0);
    for (const opt of [
      "--epochs",
      "--batch",
      "--lr",
      "--margin",
      "--scale",
      "--dim",
      "--augment",
      "--validation",
      "--seed",
      "--init",
    ])
      expect(t.stdout).toContain(opt);
  });

  it("model train refuses a bad option value with BL_USAGE and exit 2", async () => {
    const r = await run(["model", "train", "--data", data, "--out", data, "--augment", "huge"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--augment.*\[BL_USAGE\]/s);
  });

  it("model eval --json prints one JSON object (not a JSON string) with the honest protocol's figures", async () => {
    await generateDataset({ dir: data, pigs: 10, perPig: 6, seed: 5 });
    const r = await run(["model", "eval", "--data", data, "--json", "--shots", "2", "--seed", "3"]);
    expect(r.stderr).not.toMatch(/BL_/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(typeof j).toBe("object");
    expect(j).toMatchObject({ far: 0.01, enrolled: 7, unknownPigs: 3, galleryImages: 14, skipped: [] });
    for (const k of ["rank1", "rank5", "tarAtFar", "identificationRate", "unknownRejection", "threshold"])
      expect(typeof j[k]).toBe("number");
  }, 600_000);
});
