import jsQR from "jsqr";
import { QR_EVERY_MS } from "./config.ts";
import type { Box } from "./detector.ts";
import { pigFromTag } from "./tag-text.ts";

/**
 * Decodes an ear-tag QR code (`pig:<id>`) in a region of a decoded RGB frame (the whole frame by
 * default); null when none. `rgba` is a scratch buffer to reuse (at least w×h×4 bytes).
 */
export function readEarTag(
  rgb: Buffer | Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  region: Box = { left: 0, top: 0, width, height },
  rgba = new Uint8ClampedArray(region.width * region.height * 4),
): string | null {
  const { left, top, width: w, height: h } = region;
  for (let y = 0; y < h; y++) {
    let j = ((top + y) * width + left) * 3;
    let i = y * w * 4;
    for (let x = 0; x < w; x++, j += 3, i += 4) {
      rgba[i] = rgb[j]!;
      rgba[i + 1] = rgb[j + 1]!;
      rgba[i + 2] = rgb[j + 2]!;
      rgba[i + 3] = 255;
    }
  }
  // Tags are printed dark on light: skipping the inverted pass halves the decode time.
  const view = rgba.length === w * h * 4 ? rgba : rgba.subarray(0, w * h * 4);
  const code = jsQR(view, w, h, { inversionAttempts: "dontInvert" });
  return code ? pigFromTag(code.data) : null;
}

export interface EarTagGate {
  /** Scan at least this often (monotonic ms) to confirm known pigs; 0 = every frame. */
  everyMs: number;
  /** How far around each ROI a tag may hang (an ear beside the face), as a share of the ROI's size. */
  margin: number;
}

/**
 * 30 s: each confirmation scan costs ~5 ms of the main thread on the build machine, more on a Pi
 * (jsQR over the grown ROIs), and at every 5 s it was among the pipeline's biggest JS costs (big
 * barn, docs/performance.md). Enrolment and strangers are scanned on every frame regardless
 * (below); the periodic scan only re-confirms a pig the faces already named, and a labelled frame
 * is kept at most once an hour per pig anyway.
 */
export const defaultEarTagGate: EarTagGate = { everyMs: QR_EVERY_MS, margin: 0.75 };

/**
 * The QR scan only where and when it can pay (issue #15 item 9: it was the biggest cost of the faces
 * path, 3.5 ms per 320×240 frame to 42 ms at 720p, over every whole frame): inside the ROIs (grown
 * by `margin`, where an ear tag hangs), on every frame while a face there is unknown or the gallery
 * is empty (enrolment, and a stranger's tag), and otherwise once per `everyMs`. One scratch buffer,
 * reused while the region's size holds.
 */
export class EarTagReader {
  /** Set by the pipeline when a face of the last frame matched nobody: the next frame is scanned. */
  unknownSeen = true;
  scans = 0;
  skipped = 0;
  private last = Number.NEGATIVE_INFINITY;
  private scratch = new Uint8ClampedArray(0);

  constructor(private readonly gate: EarTagGate = defaultEarTagGate) {}

  /** How far around each ROI the scan looks (the pipeline decodes that much of the frame). */
  get margin(): number {
    return this.gate.margin;
  }

  /**
   * Whether a frame at `mono` would be scanned: a face of the last frame was unknown, the gallery is
   * empty, or the confirmation is due. The pipeline asks before decoding, so that a frame not
   * scanned decodes the ROIs alone, not the margin around them.
   */
  due(mono: number, galleryEmpty: boolean): boolean {
    return this.unknownSeen || galleryEmpty || mono - this.last >= this.gate.everyMs;
  }

  read(
    rgb: Buffer | Uint8Array | Uint8ClampedArray,
    width: number,
    height: number,
    rois: Box[],
    mono: number,
    galleryEmpty: boolean,
  ) {
    if (!this.due(mono, galleryEmpty)) {
      this.skipped++;
      return null;
    }
    const region = scanRegion(rois, width, height, this.gate.margin);
    if (!region) return null;
    this.last = mono;
    this.unknownSeen = false;
    this.scans++;
    const need = region.width * region.height * 4;
    if (this.scratch.length < need) this.scratch = new Uint8ClampedArray(need);
    return readEarTag(rgb, width, height, region, this.scratch);
  }
}

/** The bounding box of the ROIs, each grown by `margin` of its size on every side, clamped to the frame. */
export function scanRegion(rois: Box[], width: number, height: number, margin: number): Box | null {
  if (rois.length === 0) return { left: 0, top: 0, width, height };
  let l = width;
  let t = height;
  let r = 0;
  let b = 0;
  for (const roi of rois) {
    const mx = Math.round(roi.width * margin);
    const my = Math.round(roi.height * margin);
    l = Math.min(l, Math.max(0, roi.left - mx));
    t = Math.min(t, Math.max(0, roi.top - my));
    r = Math.max(r, Math.min(width, roi.left + roi.width + mx));
    b = Math.max(b, Math.min(height, roi.top + roi.height + my));
  }
  return r > l && b > t ? { left: l, top: t, width: r - l, height: b - t } : null;
}
