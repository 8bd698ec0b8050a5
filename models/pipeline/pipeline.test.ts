import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { readCard } from "../embed/card.ts";
import { type Embedder, loadEmbedder } from "../embed/embedder.ts";
import { cropRaw } from "../embed/preprocess.ts";
import { Gallery } from "../gallery/gallery.ts";
import { ensureRuntime } from "../runtime.ts";
import { SyntheticCamera } from "../synth/camera.ts";
import { manualClock, recordingContext, tmpPath } from "../test-helpers.ts";
import { scanRegion } from "./ear-tag.ts";
import { decodeArea, FacePipeline, type PipelineOptions } from "./face-pipeline.ts";
import { PRETRAINED_DIR } from "./model-dir.ts";
import { defaultQuality } from "./quality.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let emb: Embedder;
let threshold = 0.5;

beforeAll(async () => {
  await ensureRuntime({ prefer: "wasm" });
  emb = await loadEmbedder(PRETRAINED_DIR);
  threshold = readCard(PRETRAINED_DIR)!.threshold;
});

function setup(absent: string[] = []) {
  const clock = manualClock();
  const ctx = recordingContext(clock);
  const gallery = new Gallery(`${tmpPath("gallery")}.db`, { dim: emb.dim, modelVersion: emb.version });
  const cam = (seed: number, tagRate: number, strangerRate = 0, maxVisit = 1) =>
    new SyntheticCamera({
      camera: "feeder-1",
      clock,
      herd: { seed: 21, pigs: 6 },
      absent,
      strangers: 3,
      strangerRate,
      tagRate,
      seed,
      maxVisit,
    });
  const o: PipelineOptions = {
    camera: "feeder-1",
    barn: "barn-a",
    rois: [{ left: 96, top: 40, width: 128, height: 128 }],
    threshold,
    refreshThreshold: 0.8,
    quality: { ...defaultQuality, minSharpness: 5 },
    qr: true,
    unknownAfter: 1,
    visitGapMs: 3000,
    visitSimilarity: threshold - 0.25,
    censusWindowMs: DAY,
    keepLabelledMs: HOUR,
    unseenDays: 2,
  };
  return { clock, ctx, gallery, cam, pipeline: new FacePipeline(emb, gallery, o, ctx) };
}

describe("face pipeline on a synthetic feeder camera", () => {
  it("enrols pigs from ear-tag QR codes, then recognises them without tags", async () => {
    const { clock, gallery, cam, pipeline, ctx } = setup();
    const tagged = cam(1, 1);
    for (let i = 0; i < 40; i++) {
      const { frame, truth } = await tagged.next();
      const [r] = await pipeline.process(frame);
      expect(r?.tag).toBe(truth.pig);
      clock.advance(2 * HOUR);
    }
    expect(gallery.pigs().map((p) => p.id)).toEqual(tagged.herd.map((p) => p.id));
    const plain = cam(2, 0, 0.25);
    let right = 0;
    let n = 0;
    for (let i = 0; i < 40; i++) {
      const { frame, truth } = await plain.next();
      const [r] = await pipeline.process(frame);
      if (!r) continue;
      n++;
      if ((truth.stranger && r.pig === null) || r.pig === truth.pig) right++;
      clock.advance(HOUR);
    }
    expect(n).toBeGreaterThan(30);
    expect(right / n).toBeGreaterThanOrEqual(0.9);
    const sightings = ctx.readings.filter((r) => r.kind === "sighting");
    expect(sightings.length).toBeGreaterThan(60);
    expect(sightings[0]!.body).toMatchObject({
      camera: "feeder-1",
      frameSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // the tag-labelled frames are marked and kept as media (what the cloud's herd adaptation reads);
    // frames named by the matcher are not
    const labelled = sightings.filter((r) => (r.body as { labelledBy?: string }).labelledBy === "tag");
    expect(labelled).toHaveLength(40);
    const media = ctx.readings.filter((r) => r.kind === "media");
    expect(media.map((m) => (m.body as { sha256: string }).sha256)).toEqual(
      labelled.map((r) => (r.body as { frameSha256: string }).frameSha256),
    );
    expect(media[0]).toMatchObject({ stream: "faces.feeder-1.labelled", body: { mime: "image/jpeg" } });
  }, 300_000);

  it("raises unknown-pig alarms and closes a census window with unseen pigs", async () => {
    const { clock, ctx, cam, pipeline, gallery } = setup(["pig-0003"]);
    const tagged = cam(3, 1);
    for (let i = 0; i < 30; i++) {
      await pipeline.process((await tagged.next()).frame);
      clock.advance(7 * HOUR);
    }
    // pig-0003 is absent from the feeder: enrol it by hand, as a farm would from labelled photos
    gallery.enrol(
      "pig-0003",
      [{ vec: new Float32Array(emb.dim).fill(1 / Math.sqrt(emb.dim)) }],
      "cli",
      clock.now().wall,
    );
    clock.advance(3 * DAY);
    pipeline.tick(clock.now().wall);
    const strangers = cam(4, 0, 1);
    for (let i = 0; i < 5; i++) await pipeline.process((await strangers.next()).frame);
    expect(ctx.alarms.some((a) => a.code === "faces.unknown_pig" && a.active)).toBe(true);
    const known = cam(5, 0, 0, 3);
    for (let i = 0; i < 40; i++) await pipeline.process((await known.next()).frame);
    clock.advance(DAY);
    pipeline.tick(clock.now().wall);
    const census = ctx.readings.filter((r) => r.kind === "census").at(-1)!.body as Record<string, unknown>;
    expect(census).toMatchObject({ barn: "barn-a", method: "faces", unseen: ["pig-0003"] });
    expect(census.count).toBeGreaterThanOrEqual(4);
    expect(census.unknown).toBeGreaterThanOrEqual(4);
    expect(
      ctx.alarms.some((a) => a.code === "faces.pig_unseen" && a.subject === "pig-0003" && a.active),
    ).toBe(true);
  }, 300_000);

  it("decodes only the area around the ROIs: the whole decode's pixels, the same crops, frame coordinates", async () => {
    const { cam, pipeline, gallery, ctx } = setup();
    const roi = pipeline.o.rois[0]!;
    for (const qr of [true, false]) {
      // with the tag scan: the ROI grown by the margin (clamped); without: the ROI alone (offset 96,40)
      const p = new FacePipeline(emb, gallery, { ...pipeline.o, qr }, ctx);
      const frames = cam(qr ? 6 : 7, 0.5, 0.2);
      for (let i = 0; i < 6; i++) {
        const { frame } = await frames.next();
        const area = scanRegion([roi], frame.width, frame.height, qr ? p.tags.margin : 0)!;
        const part = await decodeArea(frame.jpeg, area);
        const full = await sharp(frame.jpeg).removeAlpha().raw().toBuffer();
        const rows = [];
        for (let y = area.top; y < area.top + area.height; y++) {
          const at = (y * frame.width + area.left) * 3;
          rows.push(full.subarray(at, at + area.width * 3));
        }
        expect(part.data.equals(Buffer.concat(rows))).toBe(true);
        const local = { ...roi, left: roi.left - area.left, top: roi.top - area.top };
        expect(await cropRaw(part.data, part.width, part.height, local, emb.size)).toEqual(
          await cropRaw(full, frame.width, frame.height, roi, emb.size),
        );
        const [r] = await p.process(frame);
        if (r) expect(r.box).toEqual(roi);
      }
    }
    const boxes = ctx.readings
      .filter((r) => r.kind === "sighting")
      .map((r) => (r.body as { box: number[] }).box);
    expect(boxes.length).toBeGreaterThan(0);
    for (const b of boxes) expect(b).toEqual([roi.left, roi.top, roi.width, roi.height]);
  }, 300_000);
});
