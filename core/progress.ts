/**
 * A progress bar on stderr for long CLI operations (backlog drain, scenario replay, training).
 * On a terminal it redraws one line (at most ~10 times a second); when stderr is a file or pipe
 * (CI, journald) it prints a plain line every 10% so logs stay readable and short.
 * (Moved from models/progress.ts, which re-exports it.)
 */
export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private finished = false;
  private readonly t0 = Date.now();

  constructor(
    private readonly label: string,
    public total: number,
    private readonly out: Pick<NodeJS.WriteStream, "write" | "isTTY"> = process.stderr,
    private readonly enabled = true,
  ) {}

  update(done: number, suffix = ""): void {
    if (!this.enabled || this.total <= 0 || this.finished) return;
    const frac = Math.max(0, Math.min(1, done / this.total));
    if (this.out.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = 28;
      const fill = Math.round(frac * width);
      const eta = frac > 0 ? ((Date.now() - this.t0) / frac) * (1 - frac) : 0;
      const line = `${this.label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${done}/${this.total} ${suffix}`;
      this.out.write(`\r${line} eta ${Math.round(eta / 1000)}s\x1b[K`);
      if (done >= this.total) this.end();
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.out.write(`${this.label} ${Math.round(frac * 100)}% (${done}/${this.total}) ${suffix}\n`);
    }
    if (done >= this.total) this.finished = true;
  }

  /** Ends the bar's line (on a terminal) even if the total was not reached (stopped early, timeout). */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.enabled && this.out.isTTY) this.out.write("\n");
  }
}
