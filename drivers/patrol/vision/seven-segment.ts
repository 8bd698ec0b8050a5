import type { Region } from "../plan.ts";
import { checkRegion, meanLum, otsu, type Rgb } from "./image.ts";

/**
 * Segment centres within one digit cell (fractions of its width and height), segments a–g in the
 * usual order: a top, b top-right, c bottom-right, d bottom, e bottom-left, f top-left, g middle.
 * `renderPanel` (drivers/patrol/sim-panel.ts) draws digits on this same layout; a real meter is calibrated to it by
 * drawing the region tight around the digits (docs/patrol.md).
 */
export const SEGMENTS: Array<[number, number]> = [
  [0.5, 0.1],
  [0.82, 0.3],
  [0.82, 0.7],
  [0.5, 0.9],
  [0.18, 0.7],
  [0.18, 0.3],
  [0.5, 0.5],
];

/** Lit segments (bit 0 = a … bit 6 = g) of each digit 0–9, and a minus sign. */
const PATTERNS: Record<number, string> = {
  63: "0",
  6: "1",
  91: "2",
  79: "3",
  102: "4",
  109: "5",
  125: "6",
  7: "7",
  127: "8",
  111: "9",
  64: "-",
  0: " ",
};

/**
 * Reads a seven-segment display: `digits` equal cells across the region, each segment on when the
 * mean luminance around its centre is above the region's Otsu threshold. Returns the value, or
 * null with the raw text when a cell matches no digit (a dead segment, glare, a display off).
 */
export function readSevenSegment(
  img: Rgb,
  r: Region,
  digits: number,
  decimals = 0,
): { value: number | null; text: string } {
  checkRegion(img, r, "meter");
  const [l, t, w, h] = r;
  const thr = otsu(img, r);
  const cw = w / digits;
  const win = Math.max(1, Math.round(Math.min(cw, h) * 0.06));
  let text = "";
  for (let d = 0; d < digits; d++) {
    let bits = 0;
    SEGMENTS.forEach(([fx, fy], s) => {
      const x = Math.round(l + d * cw + fx * cw);
      const y = Math.round(t + fy * h);
      if (meanLum(img, x - win, y - win, 2 * win + 1, 2 * win + 1) > thr) bits |= 1 << s;
    });
    text += PATTERNS[bits] ?? "?";
  }
  const digitsText = text.trim();
  if (!/^-?\d+$/.test(digitsText)) return { value: null, text };
  return { value: Number(digitsText) / 10 ** decimals, text };
}
