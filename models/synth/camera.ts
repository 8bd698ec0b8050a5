import { createHash } from "node:crypto";
import type { Clock } from "../../core/clock.ts";
import type { Frame, FrameSource } from "../../drivers/camera-types.ts";
import { canvasToJpeg } from "./dataset.ts";
import { drawQr, earTagText } from "./qr.ts";
import { drawFace, fillBackground, newCanvas, randomPose } from "./render.ts";
import { mix, rng } from "./rng.ts";
import { type PigTraits, pigTraits } from "./traits.ts";

export interface SyntheticCameraOptions {
  camera: string;
  clock: Clock;
  /** The enrolled herd: pigs `offset`..`offset + pigs - 1` of `seed`. */
  herd: { seed: number; pigs: number; offset?: number };
  /** Pigs of the herd (by id) that never come to the feeder: dead or sold. */
  absent?: string[];
  /** Strangers (not in the herd) and how often one comes: a substituted or uninsured pig. */
  strangers?: number;
  strangerRate?: number;
  /** Frames a pig stays at the feeder: 1..maxVisit (default 1, a new pig every frame). */
  maxVisit?: number;
  /** Share of frames where the pig's ear-tag QR code is readable. */
  tagRate?: number;
  /** Face box in the frame (the ROI the pipeline is configured with). */
  roi?: { x: number; y: number; w: number; h: number };
  width?: number;
  height?: number;
  seed?: number;
}

export interface SyntheticTruth {
  pig: string;
  stranger: boolean;
  tag: boolean;
}

/**
 * A camera over a feeder that a herd walks past: each frame shows one pig's face in the ROI, now
 * and then a stranger, sometimes with a readable ear tag. Implements FrameSource, so the pipeline
 * cannot tell it from a real camera driver.
 */
export class SyntheticCamera implements FrameSource {
  readonly camera: string;
  readonly roi: { x: number; y: number; w: number; h: number };
  readonly herd: PigTraits[];
  private readonly strangers: PigTraits[];
  private readonly listeners = new Set<(f: Frame) => void>();
  private last: Frame | undefined;
  private n = 0;
  private visit: { pig: PigTraits; stranger: boolean; left: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  lastTruth: SyntheticTruth | undefined;

  constructor(private readonly o: SyntheticCameraOptions) {
    this.camera = o.camera;
    this.roi = o.roi ?? { x: 96, y: 40, w: 128, h: 128 };
    const off = o.herd.offset ?? 0;
    this.herd = Array.from({ length: o.herd.pigs }, (_, i) => pigTraits(o.herd.seed, off + i));
    this.strangers = Array.from({ length: o.strangers ?? 0 }, (_, i) =>
      pigTraits(o.herd.seed, 900_000 + off + i, `stranger-${i + 1}`),
    );
  }

  onFrame(listener: (frame: Frame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): Frame | undefined {
    return this.last;
  }

  /** Renders, publishes and returns the next frame with what it shows. */
  async next(): Promise<{ frame: Frame; truth: SyntheticTruth }> {
    const i = this.n++;
    const r = rng(mix(this.o.seed ?? 1, i));
    if (!this.visit || this.visit.left <= 0) {
      // a new pig comes to the feeder and stays for 1 to maxVisit frames
      const absent = new Set(this.o.absent ?? []);
      const present = this.herd.filter((p) => !absent.has(p.id));
      const stranger = this.strangers.length > 0 && r() < (this.o.strangerRate ?? 0.1);
      const pool = stranger ? this.strangers : present;
      const left = 1 + Math.floor(r() * (this.o.maxVisit ?? 1));
      this.visit = { pig: pool[Math.floor(r() * pool.length)]!, stranger, left };
    }
    this.visit.left--;
    const { pig, stranger } = this.visit;
    const tag = !stranger && r() < (this.o.tagRate ?? 0);
    const c = newCanvas(this.o.width ?? 320, this.o.height ?? 240);
    fillBackground(c, r);
    const { x, y, w, h } = this.roi;
    const pose = randomPose(r, 0, 0.6);
    drawFace(c, [x, y, w, h], pig, pose, r);
    if (tag) drawQr(c, earTagText(pig.id), x + w + 4, 4, 3);
    const jpeg = await canvasToJpeg(c, pose.blur);
    const frame: Frame = {
      camera: this.camera,
      jpeg,
      sha256: createHash("sha256").update(jpeg).digest("hex"),
      width: c.width,
      height: c.height,
      t: this.o.clock.now(),
    };
    this.last = frame;
    const truth = { pig: pig.id, stranger, tag };
    this.lastTruth = truth;
    for (const l of this.listeners) l(frame);
    return { frame, truth };
  }

  /** Publishes a frame every `intervalMs` of real time until stop(). */
  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.next(), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
