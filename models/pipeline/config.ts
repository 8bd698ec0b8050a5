import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";

/** How often a known pig's ear tag is scanned by default (why 30 s: ear-tag.ts, defaultEarTagGate). */
export const QR_EVERY_MS = 30_000;

const box = z.strictObject({
  left: z.number().int().min(0),
  top: z.number().int().min(0),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const facesConfig = z.strictObject({
  driver: z.literal("faces"),
  name: ident(),
  /** The camera (a FrameSource in the agent's CameraHub) this pipeline watches. */
  camera: z.string().min(1).max(64),
  barn: ident().default("barn-a"),
  /** Where faces appear: the feeder or drinker opening, in frame pixels. */
  rois: z.array(box).min(1),
  /** A model directory (model.json) or a models root with current.json; default: the shipped model. */
  model: z.string().optional(),
  /** SQLite file of the herd's templates and claims. */
  gallery: z.string().min(1),
  /**
   * Rejection threshold (cosine). Default: calibrated on the enrolled herd's own genuine and
   * impostor scores at FAR 1% per search, re-calibrated as the gallery changes, up or down; the
   * model card's until the gallery is big enough (pipeline/threshold.ts).
   */
  threshold: z.number().min(-1).max(1).optional(),
  refreshThreshold: z.number().min(-1).max(1).default(0.85),
  minFacePx: z.number().int().positive().default(48),
  minSharpness: z.number().min(0).default(20),
  exposure: z.tuple([z.number(), z.number()]).default([35, 225]),
  maxClipped: z.number().min(0).max(1).default(0.35),
  qr: z.boolean().default(true),
  /**
   * How often a known pig's ear tag is looked for to confirm it (0: every frame). Unknown faces and
   * an empty gallery are scanned on every frame whatever this says. The default is ear-tag.ts's
   * defaultEarTagGate too (QR_EVERY_MS lives here: importing ear-tag.ts would load jsQR with the config).
   */
  qrEvery: duration().default(QR_EVERY_MS),
  /** Frames of one visit that must agree a face is unknown before the alarm. */
  unknownAfter: z.number().int().min(1).default(2),
  /** Frames closer than this (real time) that resemble each other are one visit, fused. */
  visitGap: duration().default(3000),
  /**
   * Cosine to the previous frame a frame needs to continue a visit (tracking): deliberately below
   * the match threshold. Default: the threshold minus 0.25 (measured on real faces: docs/pig-faces.md).
   */
  visitSimilarity: z.number().min(-1).max(1).optional(),
  /**
   * A known pig's face box whose 16×16 grey thumbnail differs from the frame it was last embedded
   * in by less than this (mean absolute grey level, 0–255) keeps that identity without a new
   * embedding or tag scan; its sighting says `carriedFrom`. 0 = embed every frame.
   */
  stillDiff: z.number().min(0).max(255).default(2),
  /** A held-still identity is re-checked (embedded afresh) at least this often. */
  stillMaxAge: duration().default(10_000),
  censusWindow: duration().default(86_400_000),
  /**
   * Keep the frame of an ear-tag-labelled face as a media record (what the cloud's herd adaptation
   * trains on), at most one per pig per this interval; 0 = never.
   */
  keepLabelled: duration().default(3_600_000),
  unseenDays: z.number().positive().default(3),
  backend: z.enum(["auto", "tensorflow", "wasm", "cpu"]).default("auto"),
  /** How often to look for a newly installed model version (rollout). */
  modelCheck: duration().default(60_000),
  /** Runs a synthetic feeder camera of this name into the hub (demo, tests): no hardware needed. */
  synthetic: z
    .strictObject({
      seed: z.number().int().default(1),
      pigs: z.number().int().min(1).max(5000).default(20),
      strangers: z.number().int().min(0).default(2),
      strangerRate: z.number().min(0).max(1).default(0.05),
      tagRate: z.number().min(0).max(1).default(0.1),
      absent: z.array(z.string()).default([]),
      /** Frames a visit lasts, at most (a pig lingers at the feeder for a few frames). */
      visitFrames: z.number().int().min(1).max(100).default(4),
      /** Real time between frames; a demo clock running fast needs frames often enough to see the herd. */
      interval: duration().default(200),
    })
    .optional(),
});
export type FacesConfig = z.output<typeof facesConfig>;
