import { thresholdAtFar } from "../eval/metrics.ts";
import type { Gallery } from "../gallery/gallery.ts";

/**
 * The rejection threshold for this herd. Per-search FAR grows with the number of enrolled pigs (an
 * unknown pig has more chances to look like someone), so the model card's threshold, calibrated on
 * a small validation gallery, is raised to what this gallery needs once it holds enough pigs.
 */
export function herdThreshold(cardThreshold: number, gallery: Gallery, far = 0.01, minScores = 50): number {
  const scores = gallery.nonMateScores();
  if (scores.length < minScores) return cardThreshold;
  return Math.max(cardThreshold, thresholdAtFar(scores, far));
}
