import jsQR from "jsqr";
import sharp from "sharp";
import type { Clock } from "../../core/clock.ts";
import type { Frame } from "../../drivers/camera-types.ts";
import type { AlarmInput, Reading } from "../../drivers/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { cropRaw } from "../embed/preprocess.ts";
import type { Gallery } from "../gallery/gallery.ts";
import { pigFromTag } from "../synth/qr.ts";
import { CensusWindow } from "./census.ts";
import { type Box, clampBox, type FaceDetector } from "./detector.ts";
import { assessQuality, type QualityOptions, type QualityResult } from "./quality.ts";

export interface PipelineOptions {
  camera: string;
  barn: string;
  rois: Box[];
  /** Cosine below which a face is nobody we know (calibrated at FAR 1% by training). */
  threshold: number;
  /** Cosine above which a match is sure enough to refresh the pig's templates. */
  refreshThreshold: number;
  quality: QualityOptions;
  /** Read ear-tag QR codes in the frame to enrol pigs and confirm identities. */
  qr: boolean;
  /** Consecutive unknown faces on this camera before an unknown-pig alarm (one bad frame is not enough). */
  unknownAfter: number;
  censusWindowMs: number;
  /** Enrolled pigs unseen this long are reported as possibly dead or sold. */
  unseenDays: number;
  detector?: FaceDetector;
}

export interface PipelineSink {
  clock: Clock;
  emit(readings: Reading[]): void;
  alarm(a: AlarmInput): void;
  count?(metric: string, labels: Record<string, string>, by?: number): void;
}

export interface FaceResult {
  box: Box;
  quality: QualityResult;
  pig: string | null;
  score: number;
  /** Set when the ear tag named the pig (and enrolled it if new). */
  tag?: string;
}

const DAY = 86_400_000;

/** One camera's chain: ROIs → quality gate → (detector) → embedding → gallery → records. */
export class FacePipeline {
  private readonly window: CensusWindow;
  private unknownRun = 0;
  private unknownAlarm = false;
  private readonly unseenAlarms = new Set<string>();

  constructor(
    private readonly embedder: Embedder,
    readonly gallery: Gallery,
    readonly o: PipelineOptions,
    private readonly sink: PipelineSink,
  ) {
    this.window = new CensusWindow(o.censusWindowMs, sink.clock.now().wall);
  }

  private readTag(rgb: Buffer, width: number, height: number): string | null {
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0, j = 0; i < width * height; i++, j += 3) {
      rgba[i * 4] = rgb[j]!;
      rgba[i * 4 + 1] = rgb[j + 1]!;
      rgba[i * 4 + 2] = rgb[j + 2]!;
      rgba[i * 4 + 3] = 255;
    }
    const code = jsQR(rgba, width, height, { inversionAttempts: "dontInvert" });
    return code ? pigFromTag(code.data) : null;
  }

  async process(frame: Frame): Promise<FaceResult[]> {
    const now = frame.t.wall;
    this.tick(now);
    const { data, info } = await sharp(frame.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const tag = this.o.qr ? this.readTag(data, info.width, info.height) : null;
    const results: FaceResult[] = [];
    const readings: Reading[] = [];
    for (const roi of this.o.rois) {
      const r = clampBox(roi, info.width, info.height);
      if (!r) continue;
      const boxes = this.o.detector ? await this.o.detector.detect(data, info.width, info.height, r) : [r];
      for (const box of boxes) {
        const quality = assessQuality(data, info.width, box, this.o.quality);
        if (!quality.ok) {
          this.sink.count?.("faces_rejected", { camera: this.o.camera, reason: quality.reason! });
          continue;
        }
        const crop = await cropRaw(data, info.width, info.height, box, this.embedder.size);
        const vec = this.embedder.embed(crop, 1);
        const top = this.gallery.match(vec, 5);
        const best = top[0];
        let pig: string | null = best && best.score >= this.o.threshold ? best.pig : null;
        const score = best?.score ?? -1;
        if (tag) {
          // The ear tag is ground truth for this frame: enrol a new pig, or refresh a known one.
          if (!this.gallery.has(tag)) this.gallery.enrol(tag, [{ vec, crop }], "qr", now);
          else this.gallery.refresh(tag, { vec, crop }, top.find((c) => c.pig === tag)?.score ?? -1, now);
          pig = tag;
        } else if (pig && score >= this.o.refreshThreshold) {
          this.gallery.refresh(pig, { vec, crop }, score, now);
        }
        const b = [box.left, box.top, box.width, box.height];
        readings.push({
          stream: `faces.${this.o.camera}`,
          kind: "sighting",
          t: frame.t,
          body: { camera: this.o.camera, pig, score, frameSha256: frame.sha256, box: b },
        });
        this.note(pig, score, frame, now);
        results.push({ box, quality, pig, score, ...(tag ? { tag } : {}) });
      }
    }
    if (readings.length > 0) this.sink.emit(readings);
    return results;
  }

  private note(pig: string | null, score: number, frame: Frame, now: number): void {
    if (pig) {
      this.gallery.markSeen(pig, now);
      this.window.seen.add(pig);
      this.unknownRun = 0;
      if (this.unseenAlarms.delete(pig)) this.unseenAlarm(pig, false);
      return;
    }
    this.window.unknown++;
    this.unknownRun++;
    if (this.unknownRun >= this.o.unknownAfter && !this.unknownAlarm) {
      this.unknownAlarm = true;
      this.sink.alarm({
        code: "faces.unknown_pig",
        severity: "warning",
        subject: this.o.camera,
        active: true,
        message: `an animal not in the gallery is at ${this.o.camera} (substituted or uninsured pig?)`,
        detail: { barn: this.o.barn, frameSha256: frame.sha256, score },
      });
    }
  }

  private unseenAlarm(pig: string, active: boolean): void {
    this.sink.alarm({
      code: "faces.pig_unseen",
      severity: "warning",
      subject: pig,
      active,
      message: active
        ? `${pig} not seen for ${this.o.unseenDays} days (possible death or sale)`
        : `${pig} seen again`,
      detail: { barn: this.o.barn },
    });
  }

  /** Closes the census window when its end has passed; call on every frame and on a timer. */
  tick(now: number): void {
    if (now < this.window.to) return;
    const w = this.window;
    const unseen = this.gallery.unseenSince(now - this.o.unseenDays * DAY);
    this.sink.emit([
      {
        stream: "census",
        kind: "census",
        body: {
          barn: this.o.barn,
          from: w.from,
          to: w.to,
          count: w.seen.size,
          method: "faces",
          pigs: [...w.seen].sort(),
          unseen,
          unknown: w.unknown,
        },
      },
    ]);
    for (const pig of unseen) {
      if (!this.unseenAlarms.has(pig)) {
        this.unseenAlarms.add(pig);
        this.unseenAlarm(pig, true);
      }
    }
    if (this.unknownAlarm && w.unknown === 0) {
      this.unknownAlarm = false;
      this.sink.alarm({
        code: "faces.unknown_pig",
        severity: "warning",
        subject: this.o.camera,
        active: false,
        message: `no unknown animal at ${this.o.camera} for a census window`,
      });
    }
    w.roll(now);
  }
}
