import type { Rng } from "../synth/rng.ts";
import { standardise } from "./preprocess.ts";

/**
 * Training-time augmentation of one face crop, in byte space before standardisation: shift (the
 * ROI never frames a face the same way twice), per-channel gain (lamps and daylight differ), noise
 * and a grey band (a feeder rail). No horizontal flip: markings are not symmetric, a flipped pig
 * is another pig.
 */
export function augment(src: Uint8Array, size: number, r: Rng, out: Float32Array, offset: number): void {
  const tmp = new Uint8ClampedArray(src.length);
  const maxShift = Math.max(1, Math.round(size / 16));
  const dx = Math.round((r() * 2 - 1) * maxShift);
  const dy = Math.round((r() * 2 - 1) * maxShift);
  const gain = [0.85 + r() * 0.3, 0.85 + r() * 0.3, 0.85 + r() * 0.3];
  const noise = r() * 10;
  const band = r() < 0.25 ? [Math.floor(r() * size), 1 + Math.floor((r() * size) / 10)] : null;
  for (let y = 0; y < size; y++) {
    const sy = Math.min(size - 1, Math.max(0, y + dy));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(size - 1, Math.max(0, x + dx));
      const o = (y * size + x) * 3;
      const s = (sy * size + sx) * 3;
      const inBand = band !== null && y >= band[0]! && y < band[0]! + band[1]!;
      for (let c = 0; c < 3; c++) {
        tmp[o + c] = inBand ? 150 : src[s + c]! * gain[c]! + (r() - 0.5) * noise;
      }
    }
  }
  standardise(tmp, out, offset);
}
