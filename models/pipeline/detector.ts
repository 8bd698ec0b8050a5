/** A face box in frame pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The optional detector-model slot: given a decoded frame (RGB bytes) and a region of interest,
 * return the face boxes in it. Without one, each configured ROI is taken as one face box, which is
 * right for a camera fixed over a feeder or drinker where one pig at a time puts its head in.
 */
export interface FaceDetector {
  detect(rgb: Buffer, width: number, height: number, roi: Box): Promise<Box[]> | Box[];
}

/** Clamps an ROI to the frame; null when nothing is left. */
export function clampBox(b: Box, width: number, height: number): Box | null {
  const left = Math.max(0, Math.round(b.left));
  const top = Math.max(0, Math.round(b.top));
  const w = Math.min(width - left, Math.round(b.width));
  const h = Math.min(height - top, Math.round(b.height));
  return w > 0 && h > 0 ? { left, top, width: w, height: h } : null;
}
