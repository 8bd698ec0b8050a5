import type { FaceSet } from "./image-folder.ts";

/** The images of some classes only, relabelled 0..k-1 (train/validation splits by animal). */
export function subsetClasses(set: FaceSet, classes: number[]): FaceSet {
  const wanted = new Set(classes);
  const keep: number[] = [];
  for (let i = 0; i < set.y.length; i++) if (wanted.has(set.y[i]!)) keep.push(i);
  return subsetImages(set, keep, classes);
}

/**
 * Some images only (early/late frame splits within each animal), relabelled over the classes they
 * hold, in `order` when given (else ascending class index).
 */
export function subsetImages(set: FaceSet, keep: number[], order?: number[]): FaceSet {
  const classes = order ?? [...new Set(keep.map((i) => set.y[i]!))].sort((a, b) => a - b);
  const map = new Map(classes.map((c, i) => [c, i]));
  const per = set.size * set.size * 3;
  const pixels = new Uint8Array(keep.length * per);
  for (const [k, im] of keep.entries()) pixels.set(set.pixels.subarray(im * per, (im + 1) * per), k * per);
  return {
    labels: classes.map((c) => set.labels[c]!),
    y: Int32Array.from(keep, (im) => map.get(set.y[im]!)!),
    pixels,
    files: keep.map((im) => set.files[im]!),
    size: set.size,
    skipped: set.skipped,
  };
}
