import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { claimCheck, enrol, modelSynth } from "./cli.ts";
import { faceJpeg } from "./synth/dataset.ts";
import { randomPose } from "./synth/render.ts";
import { rng } from "./synth/rng.ts";
import { pigTraits } from "./synth/traits.ts";
import { tmpPath } from "./test-helpers.ts";

const dir = tmpPath("cli");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CLI functions", () => {
  it("synthesises a herd, enrols it from the folder, and checks a claim photo", async () => {
    const data = join(dir, "herd");
    const { pigs } = await modelSynth({ out: data, pigs: 5, perPig: 4, seed: 8, progress: false });
    expect(pigs).toHaveLength(5);
    const gallery = join(dir, "g.db");
    expect(await enrol({ gallery, data })).toEqual({ pigs: 5, templates: 20, skipped: [] });
    const photo = join(dir, "dead.jpg");
    writeFileSync(
      photo,
      await faceJpeg(pigTraits(8, 3), 500, 1, { size: 128, pose: randomPose(rng(5), 0, 0.5) }),
    );
    const a = await claimCheck({ gallery, photo, claimId: "k-1" });
    expect(a).toMatchObject({ claimId: "k-1", pig: pigs[3], enrolled: true, repeated: false });
    const b = await claimCheck({ gallery, photo, claimId: "k-2" });
    expect(b).toMatchObject({ pig: pigs[3], repeated: true });
    await expect(enrol({ gallery, pig: "x", images: [] })).rejects.toMatchObject({ code: "BL_MODEL_DATA" });
  });
});
