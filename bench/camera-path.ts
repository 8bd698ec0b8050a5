// `npm run bench -- camera-path` (issue #15; runs only when named): the camera path's CPU per frame,
// in-process and deterministic, where the big-barn bench (whole agents, ±0.4 % of a core between
// runs) cannot resolve a change of a millisecond a frame. The big barn's 640×360 frames of camera 1
// (synthetic feeder, bench/big-barn-parts.ts) through each step alone, and through
// `FacePipeline.process` at 1 frame/s of a manual clock with the 20-pig gallery, defaults against
// `qrEvery: 0` (every frame scanned and its tag margin decoded) as the baseline. CPU of all threads
// (libvips runs in libuv's pool), one sharp thread as on a gateway. `BENCH_CAMERA_PATH_FRAMES`
// (default 600) frames a variant, after 60 of warm-up.
import { createHash } from "node:crypto";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import type { Clock } from "../core/clock.ts";
import { framePhash } from "../drivers/camera/phash.ts";
import type { Frame } from "../drivers/camera-types.ts";
import { readCard } from "../models/embed/card.ts";
import { loadEmbedder } from "../models/embed/embedder.ts";
import { cropRaw } from "../models/embed/preprocess.ts";
import { Gallery } from "../models/gallery/gallery.ts";
import { defaultEarTagGate, scanRegion } from "../models/pipeline/ear-tag.ts";
import { decodeArea, FacePipeline } from "../models/pipeline/face-pipeline.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { defaultQuality } from "../models/pipeline/quality.ts";
import { ensureRuntime } from "../models/runtime.ts";
import { tmpDir } from "../test/helpers/services.ts";
import { enrolledGallery, ROI, renderFrames } from "./big-barn-parts.ts";
import type { BenchLine } from "./fleet-parts.ts";

const FRAMES = Number(process.env.BENCH_CAMERA_PATH_FRAMES ?? 600);
const WARMUP = 60;

/** CPU ms (user + system, every thread) per call of `fn` over `n` calls. */
async function cpuPer(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(WARMUP, n); i++) await fn(i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}

function manualClock(): Clock & { advance(ms: number): void } {
  let wall = Date.UTC(2026, 0, 1);
  let mono = 0;
  return {
    now: () => ({ wall, boot: "bench", mono, synced: true }),
    mono: () => mono,
    advance(ms) {
      wall += ms;
      mono += ms;
    },
  };
}

export async function benchCameraPath(): Promise<BenchLine[]> {
  sharp.concurrency(1);
  sharp.cache(false);
  const dir = tmpDir("barnlink-camera-path-");
  process.stderr.write("camera-path: rendering frames, enrolling the herd…\n");
  const jpegs = (await renderFrames()).sd[0]!;
  await enrolledGallery(join(dir, "herd.db"));
  await ensureRuntime({}); // the backend the agent would choose (as enrolledGallery does)
  const emb = await loadEmbedder(PRETRAINED_DIR);
  const threshold = readCard(PRETRAINED_DIR)!.threshold;
  const { width, height } = await sharp(jpegs[0]!).metadata();
  const W = width!;
  const H = height!;
  const jpeg = (i: number) => jpegs[i % jpegs.length]!;
  const grown = scanRegion([ROI], W, H, defaultEarTagGate.margin)!;
  const local = { ...ROI, left: ROI.left - grown.left, top: ROI.top - grown.top };
  const areas = await Promise.all(jpegs.map((j) => decodeArea(j, grown)));
  const crops = await Promise.all(areas.map((a) => cropRaw(a.data, a.width, a.height, local, emb.size)));
  const lines: BenchLine[] = [];
  const line = (metric: string, value: number, baseline?: number) =>
    lines.push({
      bench: "camera-path",
      metric,
      value,
      unit: "ms CPU per frame",
      ...(baseline !== undefined ? { baseline, ratio: value / baseline } : {}),
    });

  const full = await cpuPer(FRAMES / 4, (i) => sharp(jpeg(i)).removeAlpha().raw().toBuffer());
  line("decode, the whole frame (baseline for the steps)", full);
  line("perceptual hash (camera driver)", await cpuPer(FRAMES, (i) => framePhash(jpeg(i))), full);
  line("decode, ROI + tag margin", await cpuPer(FRAMES, (i) => decodeArea(jpeg(i), grown)), full);
  line("decode, the ROI alone", await cpuPer(FRAMES, (i) => decodeArea(jpeg(i), ROI)), full);
  const crop = (i: number) => {
    const a = areas[i % areas.length]!;
    return cropRaw(a.data, a.width, a.height, local, emb.size);
  };
  line("crop to the model's input", await cpuPer(FRAMES, crop), full);
  line("embedding, one face", await cpuPer(FRAMES, (i) => emb.embed(crops[i % crops.length]!, 1)), full);

  const pipeline = async (n: string, qrEveryMs?: number) => {
    copyFileSync(join(dir, "herd.db"), join(dir, `${n}.db`));
    const gallery = new Gallery(join(dir, `${n}.db`), { dim: emb.dim, modelVersion: emb.version });
    const clock = manualClock();
    const p = new FacePipeline(
      emb,
      gallery,
      {
        camera: "cam1",
        barn: "b",
        rois: [ROI],
        threshold,
        refreshThreshold: 0.85,
        quality: defaultQuality,
        qr: true,
        ...(qrEveryMs !== undefined ? { qrEveryMs } : {}),
        unknownAfter: 2,
        visitGapMs: 3000,
        visitSimilarity: threshold - 0.25,
        censusWindowMs: 86_400_000,
        keepLabelledMs: 3_600_000,
        unseenDays: 3,
        still: { diff: 2, maxAgeMs: 10_000 },
      },
      { clock, emit() {}, alarm() {} },
    );
    const frame = (i: number): Frame => {
      clock.advance(1000);
      const j = jpeg(i);
      return {
        camera: "cam1",
        jpeg: j,
        sha256: createHash("sha256").update(j).digest("hex"),
        width: W,
        height: H,
        t: clock.now(),
      };
    };
    const ms = await cpuPer(FRAMES, (i) => p.process(frame(i)));
    gallery.close();
    return { ms, scans: p.tags.scans };
  };
  const every = await pipeline("every", 0);
  const dflt = await pipeline("default");
  line("faces pipeline, qrEvery 0 (every frame scanned: baseline)", every.ms);
  line(
    "faces pipeline, defaults (qrEvery 30 s; a frame not scanned decodes its ROIs alone)",
    dflt.ms,
    every.ms,
  );
  lines.push({
    bench: "camera-path",
    metric: "tag scans in the default pipeline's frames (warm-up included)",
    value: dflt.scans,
    unit: "scans",
    baseline: every.scans,
    ratio: dflt.scans / every.scans,
  });
  emb.dispose();
  return lines;
}
