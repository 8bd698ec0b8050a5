import * as tf from "../tf.ts";

/** Frames held out of training that decide when to stop: probes, labelled over the training classes. */
export interface StopProbes {
  pixels: Uint8Array;
  y: Int32Array;
}

export interface StopScore {
  /** Share of probes whose nearest class centroid (cosine) is their own. */
  rank1: number;
  /** Mean over probes of cos(own centroid) − max cos(other centroid): how far apart, not only which. */
  margin: number;
}

/**
 * The early-stopping figure: each probe against the centroid of each class's (clean) training
 * embeddings. Cheap (classes × probes dot products), and it never looks at the frames the card's
 * figures are measured on. Embeddings are L2-normalised rows.
 */
export function stopScore(
  gallery: Float32Array,
  galleryY: Int32Array,
  probes: Float32Array,
  probeY: Int32Array,
  classes: number,
  dim: number,
): StopScore {
  const c = new Float32Array(classes * dim);
  for (let i = 0; i < galleryY.length; i++) {
    const o = galleryY[i]! * dim;
    for (let d = 0; d < dim; d++) c[o + d]! += gallery[i * dim + d]!;
  }
  for (let k = 0; k < classes; k++) {
    let n = 0;
    for (let d = 0; d < dim; d++) n += c[k * dim + d]! ** 2;
    const s = 1 / Math.sqrt(n || 1);
    for (let d = 0; d < dim; d++) c[k * dim + d]! *= s;
  }
  let hits = 0;
  let margin = 0;
  for (let p = 0; p < probeY.length; p++) {
    const own = probeY[p]!;
    let ownCos = -2;
    let other = -2;
    for (let k = 0; k < classes; k++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += probes[p * dim + d]! * c[k * dim + d]!;
      if (k === own) ownCos = s;
      else if (s > other) other = s;
    }
    if (ownCos > other) hits++;
    margin += ownCos - other;
  }
  const n = Math.max(1, probeY.length);
  return { rank1: hits / n, margin: margin / n };
}

/**
 * Early stopping on the stop probes: keeps a copy of the trained weights at the best epoch (rank-1
 * first, then the margin), says when `patience` epochs have passed without a better one, and puts
 * the best weights back at the end.
 */
export class EarlyStopper {
  best: (StopScore & { epoch: number }) | undefined;
  readonly scores: StopScore[] = [];
  private saved: tf.Tensor[] | undefined;

  constructor(
    private readonly vars: tf.Variable[],
    private readonly patience: number,
  ) {}

  /** Records an epoch's figure; true when training should stop. */
  update(epoch: number, s: StopScore): boolean {
    this.scores.push(s);
    const b = this.best;
    if (!b || s.rank1 > b.rank1 || (s.rank1 === b.rank1 && s.margin > b.margin + 1e-3)) {
      this.best = { ...s, epoch };
      for (const t of this.saved ?? []) t.dispose();
      this.saved = this.vars.map((v) => tf.keep(tf.clone(v)));
      return false;
    }
    return this.patience > 0 && epoch - b.epoch >= this.patience;
  }

  /** Puts the best epoch's weights back (if a later epoch was worse). Returns that epoch (0-based). */
  restore(): number | undefined {
    const saved = this.saved;
    if (!saved || !this.best) return undefined;
    if (this.best.epoch < this.scores.length - 1)
      for (const [i, v] of this.vars.entries()) v.assign(saved[i]!);
    for (const t of saved) t.dispose();
    this.saved = undefined;
    return this.best.epoch;
  }
}
