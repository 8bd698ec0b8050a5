import { beforeAll, describe, expect, it } from "vitest";
import { kinds } from "../sync/kinds.ts";
import { checkClaim } from "./claims.ts";
import { readCard } from "./embed/card.ts";
import { type Embedder, loadEmbedder } from "./embed/embedder.ts";
import { decodeFace } from "./embed/preprocess.ts";
import { Gallery } from "./gallery/gallery.ts";
import { PRETRAINED_DIR } from "./pipeline/model-dir.ts";
import { ensureRuntime } from "./runtime.ts";
import { faceJpeg } from "./synth/dataset.ts";
import { randomPose } from "./synth/render.ts";
import { mix, rng } from "./synth/rng.ts";
import { pigTraits } from "./synth/traits.ts";
import { tmpPath } from "./test-helpers.ts";

let emb: Embedder;
let gallery: Gallery;
let threshold: number;
const herd = Array.from({ length: 8 }, (_, i) => pigTraits(31, i));
const stranger = pigTraits(31, 700, "stranger-1");

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  emb = await loadEmbedder(PRETRAINED_DIR);
  threshold = readCard(PRETRAINED_DIR)!.threshold;
  gallery = new Gallery(`${tmpPath("claims")}.db`, {
    dim: emb.dim,
    modelVersion: emb.version,
  });
  for (const p of herd) {
    const templates = [];
    for (let k = 0; k < 4; k++) {
      const crop = await decodeFace(await faceJpeg(p, 31, k), emb.size);
      templates.push({ vec: emb.embed(crop, 1), crop });
    }
    gallery.enrol(p.id, templates, "cli", 0);
  }
});

// A claim photo is taken on purpose, close up: moderate pose and light, like the feeder camera's.
const photo = (p: (typeof herd)[number], k: number) =>
  faceJpeg(p, 99, k, { size: 128, pose: randomPose(rng(mix(99, k)), 0, 0.6) });

describe("claim checks", () => {
  it("identifies an enrolled pig, and flags a second claim for it as repeated", async () => {
    const first = await checkClaim(emb, gallery, {
      claimId: "c-1",
      photo: await photo(herd[2]!, 1),
      threshold,
      now: 1,
    });
    expect(first).toMatchObject({ pig: herd[2]!.id, enrolled: true, repeated: false });
    expect(kinds.claim.schema.safeParse(first).success).toBe(true);
    const again = await checkClaim(emb, gallery, {
      claimId: "c-2",
      photo: await photo(herd[2]!, 2),
      threshold,
      now: 2,
    });
    expect(again).toMatchObject({ pig: herd[2]!.id, repeated: true });
    expect(again.detail?.previousClaims).toEqual(["c-1"]);
    const other = await checkClaim(emb, gallery, {
      claimId: "c-3",
      photo: await photo(herd[5]!, 1),
      threshold,
      now: 3,
    });
    expect(other).toMatchObject({ pig: herd[5]!.id, repeated: false });
  });

  it("reports an unenrolled (uninsured) pig, and the same dead pig claimed twice", async () => {
    const bytes = await photo(stranger, 1);
    const first = await checkClaim(emb, gallery, { claimId: "s-1", photo: bytes, threshold, now: 4 });
    expect(first).toMatchObject({ pig: null, enrolled: false, repeated: false });
    const same = await checkClaim(emb, gallery, { claimId: "s-2", photo: bytes, threshold, now: 5 });
    expect(same.repeated).toBe(true);
    const rechecked = await checkClaim(emb, gallery, { claimId: "s-1", photo: bytes, threshold, now: 6 });
    expect(rechecked.detail?.previousClaims).toEqual(["s-2"]);
  });
});
