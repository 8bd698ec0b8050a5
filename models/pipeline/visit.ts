/**
 * Frames of one pig's visit to the feeder, fused. A pig stays at the opening for several frames;
 * the mean of their unit embeddings is closer to the pig's templates than most single frames (pose,
 * blur and occlusion noise average out), so identity and unknown-pig decisions use the visit, not
 * one frame. A frame joins the visit when it follows within `gapMs` and resembles it.
 */
export class VisitTracker {
  private sum: Float32Array | null = null;
  private n = 0;
  private last = -Infinity;

  constructor(
    private readonly gapMs: number,
    private readonly sameCos: () => number,
  ) {}

  /** Adds a frame's embedding; returns the fused (unit) embedding and the frames in the visit. */
  add(vec: Float32Array, t: number): { fused: Float32Array; frames: number } {
    if (this.sum && t - this.last <= this.gapMs && cosine(unit(this.sum), vec) >= this.sameCos()) {
      for (let i = 0; i < vec.length; i++) this.sum[i]! += vec[i]!;
      this.n++;
    } else {
      this.sum = Float32Array.from(vec);
      this.n = 1;
    }
    this.last = t;
    return { fused: unit(this.sum), frames: this.n };
  }
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
