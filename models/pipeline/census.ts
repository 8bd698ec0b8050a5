/**
 * Who came to the feeder in the current window. A window is aligned to wall-clock multiples of
 * its length (daily windows start at midnight UTC), so every gateway's census covers the same span.
 */
export class CensusWindow {
  from: number;
  readonly seen = new Set<string>();
  unknown = 0;

  constructor(
    readonly lengthMs: number,
    now: number,
  ) {
    this.from = Math.floor(now / lengthMs) * lengthMs;
  }

  get to(): number {
    return this.from + this.lengthMs;
  }

  /** Starts the window that contains `now` (skipping empty ones after a long pause). */
  roll(now: number): void {
    this.from = Math.floor(now / this.lengthMs) * this.lengthMs;
    this.seen.clear();
    this.unknown = 0;
  }
}
