/**
 * Frames of one pig's visit to the feeder, fused. A pig stays at the opening for several frames;
 * the mean of their unit embeddings is closer to the pig's templates than most single frames (pose,
 * blur and occlusion noise average out), so identity and unknown-pig decisions use the visit, not
 * one frame.
 *
 * A frame joins the visit (one tracker per ROI) when it follows the previous frame within `gapMs`
 * and its embedding continues the track: its cosine to the previous frame or to the visit so far is
 * at least `continueCos`. That bar is deliberately *below* the match threshold: consecutive frames of
 * one animal resemble each other far more than it resembles its templates, and asking each frame to
 * match at the threshold (as before) fused almost no real visit. A different animal stepping in is
 * caught by continuity (its frames do not resemble the last one) or by the gap.
 */
export class VisitTracker {
  private sum: Float32Array | null = null;
  private prev: Float32Array | null = null;
  private n = 0;
  private last = -Infinity;

  constructor(
    private readonly gapMs: number,
    private readonly continueCos: () => number,
  ) {}

  /** Adds a frame's embedding; returns the fused (unit) embedding and the frames in the visit. */
  add(vec: Float32Array, t: number): { fused: Float32Array; frames: number } {
    const bar = this.continueCos();
    const continues =
      this.sum !== null &&
      this.prev !== null &&
      t - this.last <= this.gapMs &&
      Math.max(cosine(this.prev, vec), cosine(unit(this.sum), vec)) >= bar;
    if (continues) {
      for (let i = 0; i < vec.length; i++) this.sum![i]! += vec[i]!;
      this.n++;
    } else {
      this.sum = Float32Array.from(vec);
      this.n = 1;
    }
    this.prev = vec;
    this.last = t;
    return { fused: unit(this.sum!), frames: this.n };
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
