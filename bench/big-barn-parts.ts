// Parts of `npm run bench -- big-barn` (bench/big-barn.ts): the cameras' frames and the enrolled herd.
import sharp from "sharp";
import { systemClock } from "../core/clock.ts";
import { loadEmbedder } from "../models/embed/embedder.ts";
import { decodeFace } from "../models/embed/preprocess.ts";
import { Gallery } from "../models/gallery/gallery.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { ensureRuntime } from "../models/runtime.ts";
import { SyntheticCamera } from "../models/synth/camera.ts";
import { faceJpeg } from "../models/synth/dataset.ts";

export const CAMERAS = 2;
export const HERD = { seed: 7, pigs: 20 };
/** Frames rendered per camera, served in a loop (half a minute's worth at 1 frame/s). */
const POOL = 30;
/** Snapshots in a row that show one still scene (the `still` variant). */
const HOLD = 4;
export const ROI = { left: 96, top: 40, width: 128, height: 128 };

/**
 * Renders each camera's frames at 1280×720, the face in a 256 px box that a resize to 640×360 makes
 * the ROI; the same frames at 640×360 (a camera's substream set to the size the pipeline needs); and
 * 640×360 frames of pigs standing still (`still`).
 */
export async function renderFrames(): Promise<{ hd: Buffer[][]; sd: Buffer[][]; still: Buffer[][] }> {
  const clock = systemClock("always");
  const pools: Buffer[][] = [];
  for (let c = 0; c < CAMERAS; c++) {
    const cam = new SyntheticCamera({
      camera: `cam${c + 1}`,
      clock,
      herd: HERD,
      strangers: 2,
      strangerRate: 0.05,
      tagRate: 0.1,
      maxVisit: 4,
      roi: { x: ROI.left * 2, y: ROI.top * 2, w: ROI.width * 2, h: ROI.height * 2 },
      width: 1280,
      height: 720,
      seed: 100 + c,
    });
    const pool: Buffer[] = [];
    for (let i = 0; i < POOL; i++) pool.push((await cam.next()).frame.jpeg);
    pools.push(pool);
  }
  const sd = await Promise.all(
    pools.map((pool) =>
      Promise.all(pool.map((j) => sharp(j).resize(640, 360).jpeg({ quality: 90 }).toBuffer())),
    ),
  );
  // A pig standing still: each 640×360 scene sent HOLD times in a row, re-encoded each time (a
  // camera's own noise: other bytes, other SHA-256, nearly the same pixels).
  const still = await Promise.all(
    sd.map((pool) =>
      Promise.all(
        pool.map((_, i) =>
          sharp(pool[i - (i % HOLD)]!)
            .jpeg({ quality: 92 - (i % HOLD) * 2 })
            .toBuffer(),
        ),
      ),
    ),
  );
  return { hd: pools, sd, still };
}

/** A gallery holding the herd, 3 synthetic photos per pig (what startSyntheticFeeder enrols). */
export async function enrolledGallery(path: string): Promise<void> {
  await ensureRuntime({});
  const emb = await loadEmbedder(PRETRAINED_DIR);
  const gallery = new Gallery(path, { dim: emb.dim, modelVersion: emb.version });
  const herd = new SyntheticCamera({ camera: "x", clock: systemClock("always"), herd: HERD }).herd;
  for (const pig of herd) {
    const templates = [];
    for (let k = 0; k < 3; k++) {
      const crop = await decodeFace(await faceJpeg(pig, HERD.seed + 1000, k, { size: 128 }), emb.size);
      templates.push({ vec: emb.embed(crop, 1), crop });
    }
    gallery.enrol(pig.id, templates, "synthetic", Date.now());
  }
  gallery.close();
  emb.dispose();
}

/** `A=1 B=2` (a knob's value) as an environment object. */
export const envOf = (text = ""): Record<string, string> =>
  Object.fromEntries(
    text
      .split(" ")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
