import type { Box } from "./detector.ts";

/** Side of the grey thumbnail a face box is compared by. */
const SIDE = 16;

export interface StillOptions {
  /** Mean absolute grey difference (0–255) of the 16×16 thumbnails below which a face box has not changed; 0 = never carry. */
  diff: number;
  /** An identity is carried at most this long (monotonic ms) after the embedding it came from. */
  maxAgeMs: number;
}

/** What the last embedded frame of a face box decided, carried while the box holds still. */
export interface Identified {
  pig: string | null;
  score: number;
  /** SHA-256 of the frame whose pixels were embedded. */
  frameSha256: string;
}

/** A box's mean grey levels on a 16×16 grid (block means of the RGB frame), into `out`. */
export function thumbnail(rgb: Uint8Array | Buffer, width: number, box: Box, out: Uint8Array): Uint8Array {
  for (let gy = 0; gy < SIDE; gy++) {
    const y0 = box.top + Math.floor((gy * box.height) / SIDE);
    const y1 = Math.max(y0 + 1, box.top + Math.floor(((gy + 1) * box.height) / SIDE));
    for (let gx = 0; gx < SIDE; gx++) {
      const x0 = box.left + Math.floor((gx * box.width) / SIDE);
      const x1 = Math.max(x0 + 1, box.left + Math.floor(((gx + 1) * box.width) / SIDE));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        let s = (y * width + x0) * 3;
        for (let x = x0; x < x1; x++, s += 3) sum += 77 * rgb[s]! + 150 * rgb[s + 1]! + 29 * rgb[s + 2]!;
      }
      out[gy * SIDE + gx] = Math.round(sum / 256 / ((y1 - y0) * (x1 - x0)));
    }
  }
  return out;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}

const sameBox = (a: Box, b: Box) =>
  a.left === b.left && a.top === b.top && a.width === b.width && a.height === b.height;

/**
 * Skips re-identifying a face box whose pixels have hardly changed since it was last embedded (a
 * pig standing still at the feeder, issue #15): its embedding, tag scan and match are carried from
 * that frame, for at most `maxAgeMs`, and only for a known pig (an unknown face is always checked
 * again). The comparison is against the embedded frame's thumbnail, not the previous frame's, so a
 * slow drift of small changes still ends the carry. The caller records a carried sighting as such.
 */
export class StillGate {
  private readonly last = new Map<string, { box: Box; thumb: Uint8Array; at: number; id: Identified }>();
  private readonly scratch = new Uint8Array(SIDE * SIDE);

  constructor(private readonly o: StillOptions) {}

  /**
   * The identity to carry into this frame for the box under `key`, or null: embed it afresh. `box`
   * indexes `rgb`; `at` is the same box in frame pixels (what must not have moved), when `rgb` is a
   * decoded part of the frame whose offset may change from frame to frame.
   */
  carry(
    key: string,
    rgb: Uint8Array | Buffer,
    width: number,
    box: Box,
    mono: number,
    at: Box = box,
  ): Identified | null {
    const prev = this.last.get(key);
    if (this.o.diff <= 0 || !prev || prev.id.pig === null || !sameBox(prev.box, at)) return null;
    if (mono - prev.at > this.o.maxAgeMs || mono < prev.at) return null;
    if (meanAbsDiff(thumbnail(rgb, width, box, this.scratch), prev.thumb) >= this.o.diff) return null;
    return prev.id;
  }

  /** Remembers a box's fresh identification (from this frame's pixels; `at` as in carry). */
  remember(
    key: string,
    rgb: Uint8Array | Buffer,
    width: number,
    box: Box,
    mono: number,
    id: Identified,
    at: Box = box,
  ): void {
    if (this.o.diff <= 0) return;
    const thumb = thumbnail(rgb, width, box, this.last.get(key)?.thumb ?? new Uint8Array(SIDE * SIDE));
    this.last.set(key, { box: { ...at }, thumb, at: mono, id });
  }
}
