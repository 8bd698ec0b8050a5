import type { CaptureTime } from "../core/clock.ts";

/** One JPEG frame from a camera, with its capture time and SHA-256 (the hash is the evidence). */
export interface Frame {
  camera: string;
  jpeg: Buffer;
  sha256: string;
  /** 64-bit perceptual hash of the same JPEG (16 hex digits, core/phash.ts): near-copies lie a few bits apart. */
  phash?: string;
  width: number;
  height: number;
  t: CaptureTime;
}

/**
 * What frame consumers (the pig-face pipeline, the gateway page's snapshot) see of a camera.
 * Camera drivers implement it; the synthetic camera does too.
 */
export interface FrameSource {
  readonly camera: string;
  /** Subscribes to frames; returns an unsubscribe function. */
  onFrame(listener: (frame: Frame) => void): () => void;
  /** The most recent frame, if any. */
  latest(): Frame | undefined;
}

/** Cameras by name, filled by camera sources as they start; pipelines look theirs up here. */
export class CameraHub {
  private readonly sources = new Map<string, FrameSource>();
  private readonly waiters = new Map<string, Array<(s: FrameSource) => void>>();
  register(source: FrameSource): void {
    this.sources.set(source.camera, source);
    for (const w of this.waiters.get(source.camera) ?? []) w(source);
    this.waiters.delete(source.camera);
  }
  get(camera: string): FrameSource | undefined {
    return this.sources.get(camera);
  }
  list(): FrameSource[] {
    return [...this.sources.values()];
  }
  /** Resolves once a camera of that name is registered. */
  when(camera: string): Promise<FrameSource> {
    const s = this.sources.get(camera);
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => {
      const list = this.waiters.get(camera) ?? [];
      list.push(resolve);
      this.waiters.set(camera, list);
    });
  }
}
