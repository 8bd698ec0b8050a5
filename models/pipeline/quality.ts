export interface QualityOptions {
  /** Smallest face side, in frame pixels. */
  minFacePx: number;
  /** Variance of the Laplacian on grey levels: below it the face is too blurred to identify. */
  minSharpness: number;
  /** Mean grey level must lie within [lo, hi]… */
  exposure: [number, number];
  /** …and at most this share of pixels may be clipped (near black or white). */
  maxClipped: number;
}

export const defaultQuality: QualityOptions = {
  minFacePx: 48,
  minSharpness: 20,
  exposure: [35, 225],
  maxClipped: 0.35,
};

export interface QualityResult {
  ok: boolean;
  reason?: "size" | "blur" | "exposure";
  sharpness: number;
  mean: number;
  clipped: number;
}

/** Grey levels of the last box, reused: a face a frame allocated 64 KB for nothing (issue #15). */
let scratch = new Float32Array(0);

/**
 * A cheap gate before the network: a blurred, dark or tiny face gives an unreliable embedding,
 * and an unreliable embedding is what raises false unknown-pig alarms.
 */
export function assessQuality(
  rgb: Uint8Array | Buffer,
  width: number,
  box: { left: number; top: number; width: number; height: number },
  o: QualityOptions = defaultQuality,
): QualityResult {
  const { left, top, width: w, height: h } = box;
  if (scratch.length < w * h) scratch = new Float32Array(w * h);
  const grey = scratch;
  let sum = 0;
  let clip = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((top + y) * width + left + x) * 3;
      const g = 0.299 * rgb[s]! + 0.587 * rgb[s + 1]! + 0.114 * rgb[s + 2]!;
      grey[y * w + x] = g;
      sum += g;
      if (g < 5 || g > 250) clip++;
    }
  }
  const mean = sum / (w * h);
  const clipped = clip / (w * h);
  let ls = 0;
  let lq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - w]! + grey[i + w]! - 4 * grey[i]!;
      ls += l;
      lq += l * l;
      n++;
    }
  }
  const sharpness = n > 0 ? lq / n - (ls / n) ** 2 : 0;
  const base = { sharpness, mean, clipped };
  if (Math.min(w, h) < o.minFacePx) return { ok: false, reason: "size", ...base };
  if (mean < o.exposure[0] || mean > o.exposure[1] || clipped > o.maxClipped) {
    return { ok: false, reason: "exposure", ...base };
  }
  if (sharpness < o.minSharpness) return { ok: false, reason: "blur", ...base };
  return { ok: true, ...base };
}
