import type { FaceSet } from "./image-folder.ts";

/** The images of some classes only, relabelled 0..k-1 (train/validation splits by animal). */
export function subsetClasses(set: FaceSet, classes: number[]): FaceSet {
  const map = new Map(classes.map((c, i) => [c, i]));
  const per = set.size * set.size * 3;
  const keep: number[] = [];
  for (let i = 0; i < set.y.length; i++) if (map.has(set.y[i]!)) keep.push(i);
  const pixels = new Uint8Array(keep.length * per);
  for (const [k, im] of keep.entries()) pixels.set(set.pixels.subarray(im * per, (im + 1) * per), k * per);
  return {
    labels: classes.map((c) => set.labels[c]!),
    y: Int32Array.from(keep, (im) => map.get(set.y[im]!)!),
    pixels,
    files: keep.map((im) => set.files[im]!),
    size: set.size,
  };
}
