import type { CameraHub } from "../../drivers/camera-types.ts";
import type { SourceContext } from "../../drivers/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { decodeFace } from "../embed/preprocess.ts";
import type { Gallery } from "../gallery/gallery.ts";
import { SyntheticCamera } from "../synth/camera.ts";
import { faceJpeg } from "../synth/dataset.ts";
import type { FacesConfig } from "./config.ts";

/**
 * Demo and test wiring: starts a synthetic feeder camera in the hub and, when the gallery is
 * empty, enrols the herd from three labelled synthetic photos each (what a farm does with
 * `enrol --data`), so census records are meaningful from the first window.
 */
export async function startSyntheticFeeder(
  c: FacesConfig,
  hub: CameraHub,
  ctx: SourceContext,
  embedder: Embedder,
  gallery: Gallery,
): Promise<SyntheticCamera> {
  const s = c.synthetic!;
  const r = c.rois[0]!;
  const cam = new SyntheticCamera({
    camera: c.camera,
    clock: ctx.clock,
    herd: { seed: s.seed, pigs: s.pigs },
    strangers: s.strangers,
    strangerRate: s.strangerRate,
    tagRate: s.tagRate,
    maxVisit: s.visitFrames,
    absent: s.absent,
    roi: { x: r.left, y: r.top, w: r.width, h: r.height },
    seed: s.seed,
  });
  if (gallery.pigs().length === 0) {
    const now = ctx.clock.now().wall;
    for (const pig of cam.herd) {
      const templates = [];
      for (let k = 0; k < 3; k++) {
        const crop = await decodeFace(await faceJpeg(pig, s.seed + 1000, k, { size: 128 }), embedder.size);
        templates.push({ vec: embedder.embed(crop, 1), crop });
      }
      gallery.enrol(pig.id, templates, "synthetic", now);
    }
    ctx.log.info({ pigs: cam.herd.length }, "synthetic herd enrolled");
  }
  hub.register(cam);
  cam.start(s.interval);
  return cam;
}
