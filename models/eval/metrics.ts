import { TemplateMatrix } from "../gallery/matrix.ts";
import { rng } from "../synth/rng.ts";

export interface EvalOptions {
  /** Enrolment shots per enrolled animal, drawn at random (by `seed`) from its early frames. */
  galleryPerPig?: number;
  /** Share of animals held out of the gallery entirely: their queries must be rejected. */
  unknownFraction?: number;
  /** Target false-accept rate (per search for the threshold, per comparison for verification). */
  far?: number;
  seed?: number;
  /** Share of each animal's frames (first by frame order) enrolment shots come from. */
  enrolShare?: number;
  /** Share of each animal's frames (last by frame order) that are probes. */
  probeShare?: number;
  /** These animals (class indices) are the never-enrolled ones, instead of a random `unknownFraction`. */
  unknown?: number[];
  /**
   * Whether the enrolment pool's frames that are not shots calibrate the threshold (default true).
   * False when the model was trained on the pool (herd adaptation): its scores there are optimistic.
   */
  poolCalibrates?: boolean;
}

export interface EvalMetrics {
  pigs: number;
  enrolled: number;
  unknownPigs: number;
  galleryImages: number;
  /** Probes: late frames of enrolled animals, never neighbours of their enrolment shots. */
  queries: number;
  unknownQueries: number;
  /** Frames (neither enrolled nor probes) whose scores set the threshold. */
  calibrationQueries: number;
  /** Closed-set identification: the probe's own animal ranks first (top 5). */
  rank1: number;
  rank5: number;
  far: number;
  /** Calibrated on the calibration frames at `far` per search, never on the probes. */
  threshold: number;
  /** Verification: share of genuine probe–animal scores above the threshold that lets `far` of impostor pairs through (ROC point). */
  tarAtFar: number;
  /** Open-set identification: probe's animal first and its score ≥ the calibrated threshold. */
  identificationRate: number;
  /** Share of never-enrolled animals' frames whose best score stays below the calibrated threshold. */
  unknownRejection: number;
}

/** Threshold above which at most `far` of the impostor scores lie. */
export function thresholdAtFar(impostor: number[], far: number): number {
  if (impostor.length === 0) return 0.5;
  const s = [...impostor].sort((a, b) => b - a);
  const k = Math.floor(far * s.length);
  return (s[Math.min(k, s.length - 1)] ?? 0) + 1e-6;
}

function shuffle<T>(a: T[], r: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Which frames enrol (per animal), calibrate, probe, or belong to never-enrolled animals. */
export interface FrameSplit {
  unknown: Set<number>;
  /** Enrolment shots: [class, image index]. */
  shots: [number, number][];
  calib: number[];
  probes: number[];
  /** Frames of never-enrolled animals. */
  unknownFrames: number[];
}

/**
 * The protocol's split of frames (indices into `y`), as `evaluateEmbeddings` uses it: each enrolled
 * animal's shots at random (by `seed`) from its first `enrolShare`, its probes the last
 * `probeShare`, the frames between (and, with `poolCalibrates`, the pool's frames that are not
 * shots) calibration frames. Probes are never shots nor neighbours of the pool.
 */
export function splitFrames(y: Int32Array, classes: number, o: EvalOptions = {}): FrameSplit {
  const per = o.galleryPerPig ?? 3;
  const r = rng(o.seed ?? 7);
  const order = shuffle(
    Array.from({ length: classes }, (_, i) => i),
    r,
  );
  const unknown = new Set(o.unknown ?? order.slice(0, Math.round(classes * (o.unknownFraction ?? 0.3))));
  const byClass = Array.from({ length: classes }, () => [] as number[]);
  for (let i = 0; i < y.length; i++) byClass[y[i]!]!.push(i);
  const split: FrameSplit = { unknown, shots: [], calib: [], probes: [], unknownFrames: [] };
  for (const [c, imgs] of byClass.entries()) {
    if (unknown.has(c)) {
      split.unknownFrames.push(...imgs);
      continue;
    }
    const n = imgs.length;
    if (n === 0) continue;
    const nProbe = n >= 2 ? Math.max(1, Math.floor(n * (o.probeShare ?? 1 / 3))) : 0;
    const nPool = Math.max(1, Math.min(n - nProbe, Math.ceil(n * (o.enrolShare ?? 1 / 3))));
    const pool = shuffle(imgs.slice(0, nPool), r);
    for (const i of pool.slice(0, per)) split.shots.push([c, i]);
    if (o.poolCalibrates ?? true) split.calib.push(...pool.slice(per));
    split.calib.push(...imgs.slice(nPool, n - nProbe));
    split.probes.push(...imgs.slice(n - nProbe));
  }
  return split;
}

/**
 * Open-set evaluation with an honest split. Each animal's images are taken in frame order (the
 * folder's natural file order): enrolment shots are drawn at random from the first `enrolShare`,
 * probes are the last `probeShare` (other moments of the video, not neighbours of the shots), and
 * the frames between are calibration data. The threshold is set on calibration frames only (their
 * best non-mate score is what an unknown animal scores against this gallery, FPIR at `far`), then
 * applied to probes and to never-enrolled animals. Verification TAR (a 1:1 ROC point from
 * best-template scores) and the open-set identification rate are reported separately.
 */
export function evaluateEmbeddings(
  emb: Float32Array,
  dim: number,
  y: Int32Array,
  labels: string[],
  o: EvalOptions = {},
): EvalMetrics {
  const far = o.far ?? 0.01;
  const { unknown, shots, calib, probes, unknownFrames: unk } = splitFrames(y, labels.length, o);
  const nUnknown = unknown.size;
  const g = new TemplateMatrix(dim);
  for (const [c, i] of shots) g.add(labels[c]!, emb.subarray(i * dim, (i + 1) * dim));
  const vec = (i: number) => emb.subarray(i * dim, (i + 1) * dim);
  const all = g.pigCount;
  // threshold: per search, from calibration frames' best non-mate score
  const calScores: number[] = [];
  for (const i of calib) {
    const nonMate = g.match(vec(i), 2).find((c) => c.pig !== labels[y[i]!]);
    if (nonMate) calScores.push(nonMate.score);
  }
  const threshold = thresholdAtFar(calScores, far);
  let hits = 0;
  let hits5 = 0;
  let identified = 0;
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (const i of probes) {
    const top = g.match(vec(i), all);
    const truth = labels[y[i]!]!;
    const rank = top.findIndex((c) => c.pig === truth);
    if (rank === 0) hits++;
    if (rank >= 0 && rank < 5) hits5++;
    if (rank === 0 && top[0]!.score >= threshold) identified++;
    for (const c of top) (c.pig === truth ? genuine : impostor).push(c.score);
  }
  const verify = thresholdAtFar(impostor, far);
  const unknownTop = unk.map((i) => g.match(vec(i), 1)[0]?.score ?? -1);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    pigs: labels.length,
    enrolled: labels.length - nUnknown,
    unknownPigs: nUnknown,
    galleryImages: g.size,
    queries: probes.length,
    unknownQueries: unk.length,
    calibrationQueries: calScores.length,
    rank1: ratio(hits, probes.length),
    rank5: ratio(hits5, probes.length),
    far,
    threshold,
    tarAtFar: ratio(genuine.filter((s) => s >= verify).length, genuine.length),
    identificationRate: ratio(identified, probes.length),
    unknownRejection: ratio(unknownTop.filter((s) => s < threshold).length, unknownTop.length),
  };
}
