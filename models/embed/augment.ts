import type { Rng } from "../synth/rng.ts";
import { standardise } from "./preprocess.ts";

/** How hard training perturbs each crop. 0: shift, gain, noise and a rail band only (the original). */
export interface AugmentOptions {
  /** Random zoom ± this share (the ROI frames a face closer or farther). */
  scale: number;
  /** Random rotation ± this many degrees (a tilted head). */
  rotateDeg: number;
  /** Random shift ± this share of the side (crop jitter). */
  shift: number;
  /** Probability of a greyscale crop, and of an infrared-like one (grey, contrast and gamma moved). */
  grey: number;
  infrared: number;
}

export const lightAugment: AugmentOptions = { scale: 0, rotateDeg: 0, shift: 1 / 16, grey: 0, infrared: 0 };
export const strongAugment: AugmentOptions = {
  scale: 0.15,
  rotateDeg: 12,
  shift: 0.1,
  grey: 0.15,
  infrared: 0.15,
};

/**
 * Training-time augmentation of one face crop, in byte space before standardisation: a random
 * similarity transform (zoom, rotation, shift: the ROI never frames a face the same way twice),
 * per-channel gain (lamps and daylight differ), greyscale and infrared-like frames (night cameras),
 * noise and a grey band (a feeder rail). No horizontal flip: markings are not symmetric, a flipped
 * pig is another pig.
 */
export function augment(
  src: Uint8Array,
  size: number,
  r: Rng,
  out: Float32Array,
  offset: number,
  o: AugmentOptions = strongAugment,
): void {
  const tmp = new Uint8ClampedArray(src.length);
  const maxShift = Math.max(1, size * o.shift);
  const dx = (r() * 2 - 1) * maxShift;
  const dy = (r() * 2 - 1) * maxShift;
  const zoom = 1 + (r() * 2 - 1) * o.scale;
  const a = (((r() * 2 - 1) * o.rotateDeg) / 180) * Math.PI;
  const ca = Math.cos(a) / zoom;
  const sa = Math.sin(a) / zoom;
  const gain = [0.85 + r() * 0.3, 0.85 + r() * 0.3, 0.85 + r() * 0.3];
  const mode = r() < o.infrared ? "ir" : r() < o.grey ? "grey" : "rgb";
  const gamma = mode === "ir" ? 0.6 + r() * 0.8 : 1;
  const noise = r() * 10;
  const band = r() < 0.25 ? [Math.floor(r() * size), 1 + Math.floor((r() * size) / 10)] : null;
  const c0 = (size - 1) / 2;
  const px = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // inverse map of the output pixel into the source, nearest neighbour, clamped at the edges
      const u = x - c0 - dx;
      const v = y - c0 - dy;
      const sx = Math.min(size - 1, Math.max(0, Math.round(ca * u + sa * v + c0)));
      const sy = Math.min(size - 1, Math.max(0, Math.round(-sa * u + ca * v + c0)));
      const s = (sy * size + sx) * 3;
      const o3 = (y * size + x) * 3;
      const inBand = band !== null && y >= band[0]! && y < band[0]! + band[1]!;
      for (let c = 0; c < 3; c++) px[c] = src[s + c]! * gain[c]!;
      if (mode !== "rgb") {
        let g = 0.299 * px[0]! + 0.587 * px[1]! + 0.114 * px[2]!;
        if (mode === "ir") g = 255 * (Math.min(255, g) / 255) ** gamma;
        px[0] = px[1] = px[2] = g;
      }
      for (let c = 0; c < 3; c++) tmp[o3 + c] = inBand ? 150 : px[c]! + (r() - 0.5) * noise;
    }
  }
  standardise(tmp, out, offset);
}
