import { createHash } from "node:crypto";
import sharp from "sharp";
import type { Frame, FrameSource } from "../camera-types.ts";
import type { SourceContext } from "../types.ts";
import type { FrameOptions } from "./config.ts";
import { jpegHeader } from "./jpeg-header.ts";
import { framePhash } from "./phash.ts";

// libvips' operation cache (by default 50 MB, 100 operations) keeps the decoded pixels of frames
// that never come again: on a gateway it is resident memory and nothing else (issue #15).
sharp.cache(false);
// One libvips thread per image: at a frame a second nothing waits for a parallel decode, and each
// extra thread's malloc arena stayed resident (big barn, separate runs: RSS median 156 → 142 MB, docs/performance.md).
sharp.concurrency(1);

/**
 * The common back half of every camera: rate limit, decode and resize with sharp, hash, hand the
 * frame to listeners (pipelines via the CameraHub), and keep some as `media` records. The SHA-256
 * is of the JPEG as published, so a sighting's frameSha256 matches the stored media bytes; the
 * perceptual hash beside it lets the cloud tell a re-encoded copy of an earlier frame.
 */
export class FramePublisher implements FrameSource {
  readonly camera: string;
  private readonly listeners = new Set<(f: Frame) => void>();
  private last: Frame | undefined;
  private lastAccepted = -Infinity;
  private lastKept = -Infinity;
  private busy = false;

  constructor(
    private readonly o: FrameOptions,
    private readonly ctx: SourceContext,
  ) {
    this.camera = o.name;
  }

  onFrame(listener: (frame: Frame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): Frame | undefined {
    return this.last;
  }

  /** Mono time of the last published frame (for the offline watchdog). */
  get lastFrameMono(): number {
    return this.last?.t.mono ?? -Infinity;
  }

  /** Offers raw JPEG bytes; returns the frame if it was published, undefined if dropped. */
  async offer(jpeg: Buffer): Promise<Frame | undefined> {
    const mono = this.ctx.clock.mono();
    // Drop rather than queue: a slow Pi must fall behind by skipping frames, not by growing memory.
    if (this.busy || mono - this.lastAccepted < 1000 / this.o.fps - 5) {
      this.ctx.count("camera_frames_dropped_total", { camera: this.camera });
      return undefined;
    }
    this.busy = true;
    this.lastAccepted = mono;
    const t = this.ctx.clock.now();
    try {
      const { data, width, height } = await this.fit(jpeg);
      const frame: Frame = {
        camera: this.camera,
        jpeg: data,
        sha256: createHash("sha256").update(data).digest("hex"),
        // decodes the whole JPEG (at 1/8 scale): a corrupt or truncated frame throws here
        phash: await framePhash(data),
        width,
        height,
        t,
      };
      this.last = frame;
      this.ctx.count("camera_frames_total", { camera: this.camera });
      for (const l of this.listeners) l(frame);
      this.keep(frame);
      return frame;
    } catch (e) {
      this.ctx.count("camera_errors_total", { camera: this.camera, kind: "decode" });
      this.ctx.log.warn({ camera: this.camera, err: (e as Error).message }, "undecodable frame");
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  /**
   * The JPEG to publish: the camera's own bytes when they already fit width × height and need no
   * EXIF rotation (no decode, no re-encode: the evidence is what the camera sent, and the camera
   * path's costliest step is skipped, issue #15); else decoded, rotated, resized and re-encoded at
   * `quality`. Only the header is read to decide.
   */
  private async fit(jpeg: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
    // The header in JS where it is a JPEG's (jpeg-header.ts); anything else is sharp's to read.
    const h = jpegHeader(jpeg);
    const m = h ? { format: "jpeg", ...h } : await sharpHeader(jpeg);
    const { width = 0, height = 0 } = m;
    const fits =
      m.format === "jpeg" &&
      (m.orientation ?? 1) === 1 &&
      width > 0 &&
      height > 0 &&
      width <= (this.o.width ?? width) &&
      height <= (this.o.height ?? height);
    if (fits) return { data: jpeg, width, height };
    let img = sharp(jpeg, { failOn: "error" }).rotate();
    if (this.o.width || this.o.height)
      img = img.resize(this.o.width, this.o.height, { fit: "inside", withoutEnlargement: true });
    const { data, info } = await img.jpeg({ quality: this.o.quality }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  }

  private keep(f: Frame): void {
    if (this.o.keep.every <= 0 || f.t.mono - this.lastKept < this.o.keep.every) return;
    this.lastKept = f.t.mono;
    const body = {
      camera: f.camera,
      mime: "image/jpeg",
      sha256: f.sha256,
      ...(f.phash ? { phash: f.phash } : {}),
      width: f.width,
      height: f.height,
    };
    const data = this.o.keep.data ? { dataB64: f.jpeg.toString("base64") } : {};
    this.ctx.emit([{ stream: `camera.${f.camera}`, kind: "media", t: f.t, body: { ...body, ...data } }]);
  }
}

async function sharpHeader(
  img: Buffer,
): Promise<{ format?: string; width?: number; height?: number; orientation?: number }> {
  return sharp(img, { failOn: "error" }).metadata();
}
