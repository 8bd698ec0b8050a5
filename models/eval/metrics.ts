import { TemplateMatrix } from "../gallery/matrix.ts";
import { rng } from "../synth/rng.ts";

export interface EvalOptions {
  /** Images per enrolled pig that go into the gallery; the rest are queries. */
  galleryPerPig?: number;
  /** Share of pigs held out of the gallery entirely: their queries must be rejected. */
  unknownFraction?: number;
  /** Target false-accept rate per search (a pig with no mate in the gallery accepted as someone). */
  far?: number;
  seed?: number;
}

export interface EvalMetrics {
  pigs: number;
  enrolled: number;
  unknownPigs: number;
  galleryImages: number;
  queries: number;
  unknownQueries: number;
  rank1: number;
  far: number;
  threshold: number;
  tarAtFar: number;
  unknownRejection: number;
}

/** Threshold above which at most `far` of the impostor scores lie. */
export function thresholdAtFar(impostor: number[], far: number): number {
  if (impostor.length === 0) return 0.5;
  const s = [...impostor].sort((a, b) => b - a);
  const k = Math.floor(far * s.length);
  return (s[Math.min(k, s.length - 1)] ?? 0) + 1e-6;
}

/**
 * Open-set identification on a gallery/query split. Rank-1: a known pig's query finds its own pig
 * first. FAR is per search (FPIR): the threshold lets through `far` of searches that have no mate
 * in the gallery, estimated from known queries' best non-mate scores. TAR@FAR: share of known
 * queries identified correctly at rank 1 with a score above it. Unknown rejection: share of
 * never-enrolled pigs' queries whose best score stays below it (an unknown-pig alarm in the barn).
 */
export function evaluateEmbeddings(
  emb: Float32Array,
  dim: number,
  y: Int32Array,
  labels: string[],
  o: EvalOptions = {},
): EvalMetrics {
  const far = o.far ?? 0.01;
  const per = o.galleryPerPig ?? 3;
  const r = rng(o.seed ?? 7);
  const order = labels.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nUnknown = Math.round(labels.length * (o.unknownFraction ?? 0.3));
  const unknown = new Set(order.slice(0, nUnknown));
  const g = new TemplateMatrix(dim);
  const seen = new Map<number, number>();
  const known: number[] = [];
  const unk: number[] = [];
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (unknown.has(c)) {
      unk.push(i);
      continue;
    }
    const k = seen.get(c) ?? 0;
    seen.set(c, k + 1);
    if (k < per) g.add(labels[c]!, emb.subarray(i * dim, (i + 1) * dim));
    else known.push(i);
  }
  // Per search, as a barn sees it: the best non-mate score of each known query is what an
  // unknown pig would have scored against this gallery (leave its own pig out).
  const impostor: number[] = [];
  const accepted: number[] = [];
  let hits = 0;
  for (const i of known) {
    const top = g.match(emb.subarray(i * dim, (i + 1) * dim), 2);
    const truth = labels[y[i]!]!;
    const mate = top.find((c) => c.pig === truth);
    const nonMate = top.find((c) => c.pig !== truth);
    if (top[0]?.pig === truth) {
      hits++;
      accepted.push(mate!.score);
    }
    if (nonMate) impostor.push(nonMate.score);
  }
  const threshold = thresholdAtFar(impostor, far);
  const unknownTop = unk.map((i) => g.match(emb.subarray(i * dim, (i + 1) * dim), 1)[0]?.score ?? -1);
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    pigs: labels.length,
    enrolled: labels.length - nUnknown,
    unknownPigs: nUnknown,
    galleryImages: g.size,
    queries: known.length,
    unknownQueries: unk.length,
    rank1: ratio(hits, known.length),
    far,
    threshold,
    tarAtFar: ratio(accepted.filter((s) => s >= threshold).length, known.length),
    unknownRejection: ratio(unknownTop.filter((s) => s < threshold).length, unknownTop.length),
  };
}
