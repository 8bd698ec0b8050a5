import { createHash } from "node:crypto";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../drivers/camera-types.ts";
import { kinds } from "../../sync/kinds.ts";
import { type Embedder, loadEmbedder } from "../embed/embedder.ts";
import { cropRaw } from "../embed/preprocess.ts";
import { Gallery } from "../gallery/gallery.ts";
import { ensureRuntime } from "../runtime.ts";
import { SyntheticCamera } from "../synth/camera.ts";
import { manualClock, recordingContext, tmpPath } from "../test-helpers.ts";
import { defaultEarTagGate, scanRegion } from "./ear-tag.ts";
import { decodeArea, FacePipeline } from "./face-pipeline.ts";
import { PRETRAINED_DIR } from "./model-dir.ts";
import { defaultQuality } from "./quality.ts";

const ROI = { left: 96, top: 40, width: 128, height: 128 };
let emb: Embedder;

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  emb = await loadEmbedder(PRETRAINED_DIR);
});

/** A pipeline whose embedder counts its calls, a camera of one pig (enrolled from its first frame). */
async function setup(threshold = 0.5) {
  const clock = manualClock();
  const ctx = recordingContext(clock);
  const gallery = new Gallery(`${tmpPath("still")}.db`, { dim: emb.dim, modelVersion: emb.version });
  const cam = new SyntheticCamera({ camera: "c", clock, herd: { seed: 5, pigs: 1 }, maxVisit: 1 });
  const embeds = { n: 0 };
  const counting = Object.create(emb, {
    embed: {
      value: (px: Uint8Array, n: number) => {
        embeds.n++;
        return emb.embed(px, n);
      },
    },
  }) as Embedder;
  const first = (await cam.next()).frame;
  const px = await decodeArea(first.jpeg, { left: 0, top: 0, width: first.width, height: first.height });
  const crop = await cropRaw(px.data, px.width, px.height, ROI, emb.size);
  gallery.enrol(cam.herd[0]!.id, [{ vec: emb.embed(crop, 1), crop }], "test", 0);
  const pipeline = new FacePipeline(
    counting,
    gallery,
    {
      camera: "c",
      barn: "b",
      rois: [ROI],
      threshold,
      refreshThreshold: 2,
      quality: { ...defaultQuality, minSharpness: 5 },
      qr: true,
      unknownAfter: 1,
      visitGapMs: 3000,
      visitSimilarity: 0,
      censusWindowMs: 86_400_000,
      unseenDays: 3,
      still: { diff: 2, maxAgeMs: 10_000 },
    },
    ctx,
  );
  /** The same scene a second later, as a camera sends it again (re-encoded: its own bytes and hash). */
  const again = async (f: Frame, quality = 85): Promise<Frame> => {
    clock.advance(1000);
    const jpeg = await sharp(f.jpeg).jpeg({ quality }).toBuffer();
    return { ...f, jpeg, sha256: createHash("sha256").update(jpeg).digest("hex"), t: clock.now() };
  };
  const sightings = () =>
    ctx.readings.filter((r) => r.kind === "sighting").map((r) => r.body as Record<string, unknown>);
  return { clock, cam, first, pipeline, embeds, again, sightings };
}

describe("still gate: a face box that held still keeps its identity", () => {
  it("carries a known pig through re-encoded copies of its frame, says so, and skips embedding and the tag scan", async () => {
    const { cam, first, pipeline, embeds, again, sightings } = await setup();
    const [r0] = await pipeline.process(first);
    expect(r0?.pig).toBe(cam.herd[0]!.id);
    expect(embeds.n).toBe(1);
    const scans = pipeline.tags.scans;
    const copy = await again(first, 80);
    const [r1] = await pipeline.process(copy);
    expect(r1).toMatchObject({ pig: r0!.pig, score: r0!.score, carriedFrom: first.sha256 });
    expect(embeds.n).toBe(1); // without the gate: 2
    expect(pipeline.tags.scans).toBe(scans);
    const [s0, s1] = sightings();
    expect(s0!.carriedFrom).toBeUndefined();
    // the record is of this frame (its own hash), names the frame the identity came from
    expect(s1).toMatchObject({
      pig: r0!.pig,
      score: r0!.score,
      frameSha256: copy.sha256,
      carriedFrom: first.sha256,
    });
    expect(kinds.sighting.schema.safeParse(s1).success).toBe(true);
  }, 60_000);

  it("embeds afresh when the box changes, after stillMaxAge, and never carries an unknown face", async () => {
    const { cam, first, pipeline, embeds, again, clock } = await setup();
    await pipeline.process(first);
    // a new pose of the pig: the pixels changed
    clock.advance(1000);
    const [moved] = await pipeline.process({ ...(await cam.next()).frame });
    expect(moved?.carriedFrom).toBeUndefined();
    expect(embeds.n).toBe(2);
    // another new pose, then held still: carried for 10 s, checked again at 11 s
    clock.advance(1000);
    let f = (await cam.next()).frame;
    await pipeline.process(f);
    for (let i = 0; i < 10; i++) {
      f = await again(f);
      await pipeline.process(f);
    }
    expect(embeds.n).toBe(3);
    f = await again(f);
    const [late] = await pipeline.process(f);
    expect(late?.carriedFrom).toBeUndefined();
    expect(embeds.n).toBe(4);

    const unknown = await setup(1.01); // nothing reaches the threshold: every face is unknown
    await unknown.pipeline.process(unknown.first);
    const [u] = await unknown.pipeline.process(await unknown.again(unknown.first));
    expect(u).toMatchObject({ pig: null });
    expect(u?.carriedFrom).toBeUndefined();
    expect(unknown.embeds.n).toBe(2);
  }, 60_000);

  it("decodes the tag margin only on frames the scan is due: once per qrEvery (30 s) for a known pig", async () => {
    const { first, pipeline, again, clock } = await setup();
    // every face embedded (no still gate): the tag scan's own gate alone decides
    const p = new FacePipeline(
      emb,
      pipeline.gallery,
      { ...pipeline.o, still: undefined },
      recordingContext(clock),
    );
    const grown = scanRegion([ROI], first.width, first.height, defaultEarTagGate.margin);
    expect(grown).not.toEqual(ROI);
    const areas = [];
    let f = first;
    for (let s = 0; s <= 61; s++) {
      const [r] = await p.process(f);
      expect(r?.pig).toBe(pipeline.gallery.pigs()[0]!.id);
      areas.push(p.lastArea);
      f = await again(f); // 1 s later
    }
    // the first frame (nothing confirmed yet), then at 30 s and 60 s; the ROI alone in between
    const scanned = areas.flatMap((a, s) => (JSON.stringify(a) === JSON.stringify(grown) ? [s] : []));
    expect(scanned).toEqual([0, 30, 60]);
    expect(areas.filter((a) => JSON.stringify(a) === JSON.stringify(ROI))).toHaveLength(59);
    expect(p.tags.scans).toBe(3);
  }, 120_000);
});
