import { ERR_MODEL_GALLERY } from "../errors.ts";

export interface Candidate {
  pig: string;
  score: number;
}

/**
 * Templates as one flat Float32Array (row-major, unit vectors) with a parallel pig index, matched
 * by a tight dot-product loop: at 10,000 × 64 this is ~640k multiply-adds, well under a
 * millisecond, with no tensor or allocation per template.
 */
export class TemplateMatrix {
  private data: Float32Array;
  private owner: Int32Array;
  private rows = 0;
  private readonly pigs: string[] = [];
  private readonly index = new Map<string, number>();
  private best: Float32Array = new Float32Array(0);

  constructor(
    readonly dim: number,
    capacity = 256,
  ) {
    this.data = new Float32Array(capacity * dim);
    this.owner = new Int32Array(capacity);
  }

  get size(): number {
    return this.rows;
  }

  get pigCount(): number {
    return this.pigs.length;
  }

  add(pig: string, vec: Float32Array): void {
    if (vec.length !== this.dim)
      throw ERR_MODEL_GALLERY(`template has ${vec.length} dims, gallery has ${this.dim}`);
    if (this.rows === this.owner.length) {
      const data = new Float32Array(this.data.length * 2);
      data.set(this.data);
      this.data = data;
      const owner = new Int32Array(this.owner.length * 2);
      owner.set(this.owner);
      this.owner = owner;
    }
    let p = this.index.get(pig);
    if (p === undefined) {
      p = this.pigs.length;
      this.pigs.push(pig);
      this.index.set(pig, p);
    }
    this.data.set(vec, this.rows * this.dim);
    this.owner[this.rows++] = p;
  }

  /** Best cosine per pig (max over its templates), top k pigs, best first. */
  match(q: Float32Array, k = 5): Candidate[] {
    const np = this.pigs.length;
    if (this.best.length < np) this.best = new Float32Array(Math.max(np, 16) * 2);
    const best = this.best;
    best.fill(-2, 0, np);
    const d = this.dim;
    const data = this.data;
    const owner = this.owner;
    const rows = this.rows;
    if (d % 4 === 0) {
      // four accumulators: fewer loop-carried dependencies, ~2× faster than one in V8
      for (let r = 0, o = 0; r < rows; r++, o += d) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let j = 0; j < d; j += 4) {
          s0 += data[o + j]! * q[j]!;
          s1 += data[o + j + 1]! * q[j + 1]!;
          s2 += data[o + j + 2]! * q[j + 2]!;
          s3 += data[o + j + 3]! * q[j + 3]!;
        }
        const s = s0 + s1 + s2 + s3;
        const p = owner[r]!;
        if (s > best[p]!) best[p] = s;
      }
    } else {
      for (let r = 0, o = 0; r < rows; r++, o += d) {
        let s = 0;
        for (let j = 0; j < d; j++) s += data[o + j]! * q[j]!;
        const p = owner[r]!;
        if (s > best[p]!) best[p] = s;
      }
    }
    // partial selection: k is small, so k passes beat a sort of all pigs
    const out: Candidate[] = [];
    const taken = new Set<number>();
    for (let i = 0; i < Math.min(k, np); i++) {
      let bi = -1;
      let bs = -Infinity;
      for (let p = 0; p < np; p++) {
        if (best[p]! > bs && !taken.has(p)) {
          bs = best[p]!;
          bi = p;
        }
      }
      taken.add(bi);
      out.push({ pig: this.pigs[bi]!, score: bs });
    }
    return out;
  }

  /**
   * For up to `sample` templates (evenly spaced), the best score against any other pig: what a
   * search by an animal with no mate in this gallery scores. Calibrates the threshold to the herd.
   */
  nonMateScores(sample = 500): number[] {
    const d = this.dim;
    const step = Math.max(1, Math.floor(this.rows / sample));
    const out: number[] = [];
    for (let a = 0; a < this.rows; a += step) {
      const pa = this.owner[a]!;
      const oa = a * d;
      let best = -2;
      for (let r = 0, o = 0; r < this.rows; r++, o += d) {
        if (this.owner[r] === pa) continue;
        let s = 0;
        for (let j = 0; j < d; j++) s += this.data[o + j]! * this.data[oa + j]!;
        if (s > best) best = s;
      }
      if (best > -2) out.push(best);
    }
    return out;
  }

  /**
   * For up to `sample` templates of pigs with 2+ templates (evenly spaced), the best score against
   * another template of the same pig (leave one out): what the pig's own later frame scores.
   */
  mateScores(sample = 500): number[] {
    const d = this.dim;
    const step = Math.max(1, Math.floor(this.rows / sample));
    const out: number[] = [];
    for (let a = 0; a < this.rows; a += step) {
      const pa = this.owner[a]!;
      const oa = a * d;
      let best = -2;
      for (let r = 0, o = 0; r < this.rows; r++, o += d) {
        if (r === a || this.owner[r] !== pa) continue;
        let s = 0;
        for (let j = 0; j < d; j++) s += this.data[o + j]! * this.data[oa + j]!;
        if (s > best) best = s;
      }
      if (best > -2) out.push(best);
    }
    return out;
  }
}
