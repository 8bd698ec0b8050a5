import sharp from "sharp";
import type { Clock } from "../../core/clock.ts";
import type { Frame } from "../../drivers/camera-types.ts";
import type { AlarmInput, Reading } from "../../drivers/types.ts";
import type { Embedder } from "../embed/embedder.ts";
import { cropRaw } from "../embed/preprocess.ts";
import type { Gallery } from "../gallery/gallery.ts";
import { CensusWindow } from "./census.ts";
import { type Box, clampBox, type FaceDetector } from "./detector.ts";
import { defaultEarTagGate, EarTagReader, scanRegion } from "./ear-tag.ts";
import { FaceAlarms } from "./face-alarms.ts";
import { assessQuality, type QualityOptions, type QualityResult } from "./quality.ts";
import { StillGate, type StillOptions } from "./still.ts";
import type { OperatingPoint } from "./threshold.ts";
import { VisitTracker } from "./visit.ts";

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
  /** Confirm known pigs by their tags at least this often (ms; 0 = every frame); default 30 s (ear-tag.ts). */
  qrEveryMs?: number;
  /** Frames of one visit that must agree a face is unknown before the alarm (one bad frame is not enough). */
  unknownAfter: number;
  /** Frames at most this far apart (real ms) that resemble each other are one visit (fused). */
  visitGapMs: number;
  /** Cosine to the previous frame (or the visit) a frame needs to continue a visit; below `threshold`. */
  visitSimilarity: number;
  /** The matcher's operating point on this herd, carried in census records. */
  operatingPoint?: OperatingPoint;
  censusWindowMs: number;
  /**
   * Keep the frame of an ear-tag-labelled face as a `media` record, at most one per pig per this
   * many ms (0 or unset: never): the labelled frames the cloud's herd adaptation trains on.
   */
  keepLabelledMs?: number;
  /** Enrolled pigs unseen this long are reported as possibly dead or sold. */
  unseenDays: number;
  /** Carry a known pig's identity while its face box holds still (still.ts); unset: every face is embedded. */
  still?: StillOptions;
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
  /** Frames fused into the decision (the visit so far). */
  frames: number;
  /** Set when the face box held still: identity carried from this earlier frame (its SHA-256), not embedded. */
  carriedFrom?: string;
}

const DAY = 86_400_000;

// libvips' operation cache keeps decoded frames that never come again: resident memory only (#15).
sharp.cache(false);
// One libvips thread per image: at a frame a second nothing waits for a parallel decode, and each
// extra thread's malloc arena stayed resident (big barn, separate runs: RSS median 156 → 142 MB, docs/performance.md).
sharp.concurrency(1);

/**
 * Decodes only the part of a frame the pipeline looks at (`area`: the ROIs, grown for the ear-tag
 * scan): a JPEG decodes row by row, so the rows below it are never decoded, and the RGB buffer is
 * the area's size, not the frame's. Its pixels are those of the whole frame's decode, cropped.
 */
export async function decodeArea(
  jpeg: Buffer,
  area: Box,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(jpeg)
    .extract(area)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const shift = (b: Box, dx: number, dy: number): Box => ({ ...b, left: b.left + dx, top: b.top + dy });

/** One camera's chain: ROIs → quality gate → (detector) → embedding → visit → gallery → records. */
export class FacePipeline {
  private readonly window: CensusWindow;
  private readonly alarms: FaceAlarms;
  private readonly visits = new Map<number, VisitTracker>();
  /** When each pig's labelled frame was last kept as media (keepLabelledMs). */
  private readonly keptAt = new Map<string, number>();
  /** The ear-tag QR scan, gated to the ROIs and to frames where it can find something (ear-tag.ts). */
  readonly tags: EarTagReader;
  /** The part of the last frame decoded (frame pixels): the ROIs, grown by the tag margin when scanned. */
  lastArea: Box | undefined;
  /** Face boxes that held still since their last embedding (still.ts). */
  readonly still: StillGate;

  constructor(
    private readonly embedder: Embedder,
    readonly gallery: Gallery,
    readonly o: PipelineOptions,
    private readonly sink: PipelineSink,
  ) {
    this.window = new CensusWindow(o.censusWindowMs, sink.clock.now().wall);
    this.alarms = new FaceAlarms(o.camera, o.barn, o.unseenDays, (a: AlarmInput) => sink.alarm(a));
    this.still = new StillGate(o.still ?? { diff: 0, maxAgeMs: 0 });
    this.tags = new EarTagReader({ ...defaultEarTagGate, everyMs: o.qrEveryMs ?? defaultEarTagGate.everyMs });
  }

  async process(frame: Frame): Promise<FaceResult[]> {
    const now = frame.t.wall;
    this.tick(now);
    // The area every ROI (and, when the tag scan is due, the margin it looks in) lies in, in frame
    // pixels; below, boxes are in its pixels. A frame not scanned decodes the ROIs alone: the margin
    // more than doubles the pixels decoded (320×264 against 128×128 at the documented ROI).
    const scan = this.o.qr && this.tags.due(frame.t.mono, this.gallery.templateCount === 0);
    const area = scanRegion(this.o.rois, frame.width, frame.height, scan ? this.tags.margin : 0);
    if (!area) return [];
    this.lastArea = area;
    const { data, width, height } = await decodeArea(frame.jpeg, area);
    const inArea = (b: Box) => shift(b, -area.left, -area.top);
    // Every face that passes the gate, and whether its box held still since it was last embedded.
    const faces = [];
    for (const [ri, roi] of this.o.rois.entries()) {
      const fr = clampBox(roi, frame.width, frame.height);
      if (!fr) continue;
      const r = inArea(fr);
      const boxes = this.o.detector ? await this.o.detector.detect(data, width, height, r) : [r];
      for (const [bi, local] of boxes.entries()) {
        const quality = assessQuality(data, width, local, this.o.quality);
        if (!quality.ok) {
          this.sink.count?.("faces_rejected", { camera: this.o.camera, reason: quality.reason! });
          continue;
        }
        const key = `${ri}/${bi}`;
        const box = shift(local, area.left, area.top);
        const carried = this.still.carry(key, data, width, local, frame.t.mono, box);
        faces.push({ ri, key, local, box, quality, carried });
      }
    }
    // Nothing new to identify (every face held still): no tag scan either.
    const tag =
      scan && faces.some((f) => !f.carried)
        ? this.tags.read(
            data,
            width,
            height,
            this.o.rois.map(inArea),
            frame.t.mono,
            this.gallery.templateCount === 0,
          )
        : null;
    const results: FaceResult[] = [];
    const readings: Reading[] = [];
    const sighting = (pig: string | null, score: number, box: Box, extra: object): Reading => ({
      stream: `faces.${this.o.camera}`,
      kind: "sighting",
      t: frame.t,
      body: {
        camera: this.o.camera,
        pig,
        score,
        frameSha256: frame.sha256,
        ...(frame.phash ? { framePhash: frame.phash } : {}),
        box: [box.left, box.top, box.width, box.height],
        ...extra,
      },
    });
    for (const { ri, key, local, box, quality, carried } of faces) {
      if (carried) {
        // What the record claims is what was computed: this frame's pixels were only compared.
        const { pig, score, frameSha256: from } = carried;
        this.sink.count?.("faces_carried_total", { camera: this.o.camera });
        readings.push(sighting(pig, score, box, { carriedFrom: from }));
        this.note(pig, score, frame, 1, now);
        results.push({ box, quality, pig, score, frames: 1, carriedFrom: from });
        continue;
      }
      const crop = await cropRaw(data, width, height, local, this.embedder.size);
      const t0 = performance.now();
      const vec = this.embedder.embed(crop, 1);
      // Inference time for /metrics: the mean per face is inference_ms_total / inference_frames_total.
      this.sink.count?.("inference_ms_total", { camera: this.o.camera }, performance.now() - t0);
      this.sink.count?.("inference_frames_total", { camera: this.o.camera });
      const visit = this.visit(ri).add(vec, frame.t.mono);
      const best = this.gallery.match(visit.fused, 1)[0];
      let pig: string | null = best && best.score >= this.o.threshold ? best.pig : null;
      const score = best?.score ?? -1;
      if (tag) {
        // The ear tag is ground truth for this frame: enrol a new pig, or refresh a known one.
        if (!this.gallery.has(tag)) this.gallery.enrol(tag, [{ vec, crop }], "qr", now);
        else this.gallery.refresh(tag, { vec, crop }, this.ownScore(vec, tag), now);
        pig = tag;
      } else if (pig && score >= this.o.refreshThreshold) {
        this.gallery.refresh(pig, { vec, crop }, this.ownScore(vec, pig), now);
      }
      readings.push(sighting(pig, score, box, tag ? { labelledBy: "tag" } : {}));
      this.still.remember(
        key,
        data,
        width,
        local,
        frame.t.mono,
        { pig, score, frameSha256: frame.sha256 },
        box,
      );
      if (tag) this.keepLabelled(tag, frame, frame.width, frame.height, readings);
      this.note(pig, score, frame, visit.frames, now);
      results.push({ box, quality, pig, score, frames: visit.frames, ...(tag ? { tag } : {}) });
    }
    if (readings.length > 0) this.sink.emit(readings);
    return results;
  }

  /** The labelled frame itself, as evictable media (its hash joins it to the sighting in the cloud). */
  private keepLabelled(pig: string, frame: Frame, width: number, height: number, out: Reading[]): void {
    const every = this.o.keepLabelledMs ?? 0;
    const last = this.keptAt.get(pig);
    if (every <= 0 || (last !== undefined && frame.t.mono - last < every)) return;
    if (out.some((r) => r.kind === "media" && (r.body as { sha256: string }).sha256 === frame.sha256)) return;
    this.keptAt.set(pig, frame.t.mono);
    out.push({
      stream: `faces.${this.o.camera}.labelled`,
      kind: "media",
      t: frame.t,
      body: {
        camera: this.o.camera,
        mime: "image/jpeg",
        sha256: frame.sha256,
        width,
        height,
        dataB64: frame.jpeg.toString("base64"),
      },
    });
  }

  private visit(roi: number): VisitTracker {
    let v = this.visits.get(roi);
    if (!v) {
      // tracking, not matching: continuity between frames, below the match threshold (visit.ts)
      v = new VisitTracker(this.o.visitGapMs, () => this.o.visitSimilarity);
      this.visits.set(roi, v);
    }
    return v;
  }

  /** This frame's best score against the pig's own templates (how new its look is). */
  private ownScore(vec: Float32Array, pig: string): number {
    return this.gallery.match(vec, 10).find((c) => c.pig === pig)?.score ?? -1;
  }

  private note(pig: string | null, score: number, frame: Frame, frames: number, now: number): void {
    if (pig) {
      this.gallery.markSeen(pig, now);
      this.window.seen.add(pig);
      this.alarms.seen(pig);
      return;
    }
    this.window.unknown++;
    this.tags.unknownSeen = true;
    if (frames >= this.o.unknownAfter) this.alarms.unknown(frame.sha256, score, frames);
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
          ...(this.o.operatingPoint ? { operatingPoint: this.o.operatingPoint } : {}),
        },
      },
    ]);
    this.alarms.windowClosed(unseen, w.unknown);
    w.roll(now);
  }
}
