import type { CameraHub, FrameSource } from "../camera-types.ts";
import { Backoff, sleep } from "../common/backoff.ts";
import type { ProbeResult, Source, SourceContext } from "../types.ts";
import type { FrameOptions } from "./config.ts";
import { FramePublisher } from "./frame-publisher.ts";
import type { Grabber } from "./grabbers.ts";

export interface CameraRunOptions extends FrameOptions {
  reconnectMin: number;
  reconnectMax: number;
  /** Longest wait for one frame in probe(). */
  timeout: number;
}

/**
 * Any camera: a grabber (http, ffmpeg, dir, synthetic) restarted with backoff when it fails, a
 * FramePublisher behind it, and a camera.offline alarm while no frame arrives.
 */
export class CameraSource implements Source {
  readonly name: string;
  private publisher: FramePublisher | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly o: CameraRunOptions,
    private readonly grabber: Grabber,
    private readonly hub?: CameraHub,
  ) {
    this.name = o.name;
  }

  /** The camera's frames, once started (also registered in the hub under its name). */
  get frames(): FrameSource | undefined {
    return this.publisher;
  }

  async start(ctx: SourceContext): Promise<void> {
    ctx.signal.addEventListener("abort", () => this.abort.abort(), { once: true });
    this.publisher = new FramePublisher(this.o, ctx);
    this.hub?.register(this.publisher);
    this.loop = this.run(ctx, this.publisher);
  }

  private async run(ctx: SourceContext, pub: FramePublisher): Promise<void> {
    const backoff = new Backoff(this.o.reconnectMin, this.o.reconnectMax);
    const signal = this.abort.signal;
    const started = ctx.clock.mono();
    let offline = false;
    const watchdog = setInterval(
      () => {
        const since = Math.max(started, pub.lastFrameMono);
        const stale = ctx.clock.mono() - since > this.o.offlineAfter;
        if (stale === offline) return;
        offline = stale;
        const message = stale
          ? `camera ${this.name}: no frame for ${this.o.offlineAfter} ms`
          : `camera ${this.name}: frames again`;
        ctx.alarm({
          code: "camera.offline",
          severity: "warning",
          subject: this.name,
          active: stale,
          message,
        });
      },
      Math.max(50, Math.min(5000, this.o.offlineAfter / 4)),
    );
    try {
      while (!signal.aborted) {
        try {
          await this.grabber(signal, async (jpeg) => {
            if (await pub.offer(jpeg)) backoff.reset();
          });
          if (!signal.aborted) break; // a finite replay ended
        } catch (e) {
          if (signal.aborted) break;
          ctx.count("camera_errors_total", { camera: this.name, kind: "grab" });
          const delay = backoff.next();
          ctx.log.warn(
            { camera: this.name, err: (e as Error).message, retryInMs: delay },
            "camera failed; restarting",
          );
          await sleep(delay, signal);
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** Grabs one frame and shows its size and hash, or why there was none. */
  async probe(ctx: Pick<SourceContext, "clock" | "log">): Promise<ProbeResult[]> {
    const ac = new AbortController();
    const full = { ...ctx, emit() {}, alarm() {}, count() {}, signal: ac.signal } as SourceContext;
    const pub = new FramePublisher({ ...this.o, keep: { every: 0, data: false } }, full);
    const subject = `camera ${this.name}`;
    const timer = setTimeout(() => ac.abort(), this.o.timeout);
    try {
      let got: string | undefined;
      await this.grabber(ac.signal, async (jpeg) => {
        const f = await pub.offer(jpeg);
        if (f) ac.abort();
        else got = "a frame arrived but could not be decoded";
      }).catch((e: Error) => {
        got = e.message;
      });
      const f = pub.latest();
      if (f)
        return [
          {
            subject,
            ok: true,
            values: { width: f.width, height: f.height, bytes: f.jpeg.length, sha256: f.sha256 },
          },
        ];
      return [{ subject, ok: false, error: got ?? `no frame within ${this.o.timeout} ms` }];
    } finally {
      clearTimeout(timer);
    }
  }
}
