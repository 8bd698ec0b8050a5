import { thresholdAtFar } from "../eval/metrics.ts";
import type { Gallery } from "../gallery/gallery.ts";

/** Where the matcher works on this herd: its threshold and what it buys, for census records and the gateway page. */
export interface OperatingPoint {
  threshold: number;
  /** Target false-accept rate per search. */
  far: number;
  /** "herd": calibrated on this gallery's own scores; "card": too few scores yet, the model card's. */
  source: "herd" | "card";
  /** Share of same-pig (leave-one-out) template scores at or above the threshold. */
  identificationRate: number | null;
  /** Share of best non-mate scores below it: what an unknown animal's search would do. */
  unknownRejection: number | null;
  genuineScores: number;
  impostorScores: number;
}

/**
 * The rejection threshold for this herd, calibrated on the enrolled gallery itself: impostor scores
 * are each stored template's best score against another pig (what a pig with no mate here scores;
 * per-search FAR grows with the herd, which this follows), genuine scores its best score against
 * another template of the same pig. The threshold sits where `far` of impostor searches pass, up
 * or down from the card's: the card was calibrated on other animals (synthetic ones for the shipped
 * model) and on this herd it can sit far above the pigs' own scores, making known pigs unknown.
 * Until the gallery holds `minScores` impostor scores the card's threshold is used.
 */
export function herdOperatingPoint(
  cardThreshold: number,
  gallery: Gallery,
  far = 0.01,
  minScores = 50,
): OperatingPoint {
  const impostor = gallery.nonMateScores();
  const genuine = gallery.mateScores();
  const herd = impostor.length >= minScores;
  const threshold = herd ? thresholdAtFar(impostor, far) : cardThreshold;
  const share = (xs: number[], f: (x: number) => boolean) =>
    xs.length === 0 ? null : xs.filter(f).length / xs.length;
  return {
    threshold,
    far,
    source: herd ? "herd" : "card",
    identificationRate: share(genuine, (s) => s >= threshold),
    unknownRejection: share(impostor, (s) => s < threshold),
    genuineScores: genuine.length,
    impostorScores: impostor.length,
  };
}

/** The threshold alone (see herdOperatingPoint). */
export function herdThreshold(cardThreshold: number, gallery: Gallery, far = 0.01, minScores = 50): number {
  return herdOperatingPoint(cardThreshold, gallery, far, minScores).threshold;
}
