import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Logger } from "../core/log.ts";
import { type ClaimEvidence, checkClaim } from "./claims.ts";
import { readCard } from "./embed/card.ts";
import { type Embedder, loadEmbedder } from "./embed/embedder.ts";
import { listImageFolder, type SkippedImage, skipOf } from "./embed/image-folder.ts";
import { decodeEnrolmentFace } from "./embed/preprocess.ts";
import { ERR_MODEL_DATA } from "./errors.ts";
import { Gallery } from "./gallery/gallery.ts";
import { resolveModelDir } from "./pipeline/model-dir.ts";
import { ProgressBar } from "./progress.ts";
import { ensureRuntime } from "./runtime.ts";
import { generateDataset } from "./synth/dataset.ts";

export { type ModelEvalOptions, type ModelEvalResult, modelEval } from "./eval/eval-model.ts";
export { type ModelTrainOptions, type ModelTrainResult, modelTrain } from "./train-model.ts";

/** `barnlink model synth --out DIR`: a synthetic labelled herd (DIR/<pigId>/*.jpg). */
export async function modelSynth(o: {
  out: string;
  pigs?: number;
  perPig?: number;
  seed?: number;
  size?: number;
  qr?: boolean;
  progress?: boolean;
}): Promise<{ dir: string; pigs: string[] }> {
  const bar = new ProgressBar("synth", 1, process.stderr, o.progress ?? true);
  const pigs = await generateDataset({
    dir: o.out,
    pigs: o.pigs ?? 30,
    perPig: o.perPig ?? 10,
    seed: o.seed ?? 1,
    size: o.size,
    qr: o.qr,
    onProgress: (d, t) => {
      bar.total = t;
      bar.update(d);
    },
  });
  return { dir: o.out, pigs };
}

async function open(model: string | undefined, galleryPath: string, log?: Logger) {
  await ensureRuntime({ log });
  const dir = resolveModelDir(model);
  const emb = await loadEmbedder(dir);
  const gallery = new Gallery(galleryPath, { dim: emb.dim, modelVersion: emb.version });
  return { emb, gallery, threshold: readCard(dir)?.threshold ?? 0.6 };
}

/** Enrols one pig from the photos that decode and pass the quality gate; the others are skipped. */
async function enrolFiles(
  emb: Embedder,
  g: Gallery,
  pig: string,
  files: string[],
  now: number,
  skipped: SkippedImage[],
): Promise<number> {
  const templates = [];
  for (const f of files) {
    try {
      const crop = await decodeEnrolmentFace(f, emb.size);
      templates.push({ vec: emb.embed(crop, 1), crop });
    } catch (e) {
      skipped.push(skipOf(f, e));
    }
  }
  if (templates.length > 0) g.enrol(pig, templates, "cli", now);
  return templates.length;
}

/**
 * `barnlink model enrol`: enrols one pig from labelled face photos (`pig` + `images`), or every
 * pig of a labelled folder (`data`: DIR/<pigId>/*.jpg). A photo that does not decode or fails the
 * quality gate is skipped and reported (path and code); the run goes on. A pig none of whose photos
 * is usable is not enrolled (and is in `skipped` through its photos).
 */
export async function enrol(o: {
  gallery: string;
  model?: string;
  pig?: string;
  images?: string[];
  data?: string;
  now?: number;
  log?: Logger;
}): Promise<{ pigs: number; templates: number; skipped: SkippedImage[] }> {
  const { emb, gallery } = await open(o.model, o.gallery, o.log);
  const now = o.now ?? Date.now();
  try {
    const jobs = o.data
      ? listImageFolder(o.data).map((c) => ({ pig: c.label, files: c.files }))
      : [{ pig: o.pig ?? "", files: o.images ?? [] }];
    if (jobs.length === 0 || jobs.some((j) => !j.pig || j.files.length === 0)) {
      throw ERR_MODEL_DATA("enrol needs --pig ID with images, or --data DIR/<pigId>/*.jpg");
    }
    let templates = 0;
    let pigs = 0;
    const skipped: SkippedImage[] = [];
    for (const j of jobs) {
      const n = await enrolFiles(emb, gallery, j.pig, j.files, now, skipped);
      templates += n;
      if (n > 0) pigs++;
    }
    return { pigs, templates, skipped };
  } finally {
    gallery.close();
    emb.dispose();
  }
}

/** `barnlink faces claim --photo FILE`: the evidence body for a claim record. */
export async function claimCheck(o: {
  gallery: string;
  photo: string;
  claimId?: string;
  model?: string;
  threshold?: number;
  now?: number;
  log?: Logger;
}): Promise<ClaimEvidence> {
  const { emb, gallery, threshold } = await open(o.model, o.gallery, o.log);
  try {
    return await checkClaim(emb, gallery, {
      claimId: o.claimId ?? basename(o.photo),
      photo: readFileSync(o.photo),
      threshold: o.threshold ?? threshold,
      now: o.now ?? Date.now(),
    });
  } finally {
    gallery.close();
    emb.dispose();
  }
}
