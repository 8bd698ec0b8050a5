import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";

/** What every camera source shares: rate, size, and whether frames are kept as media records. */
export const frameOptions = {
  name: ident(),
  /** Frames per second at most; extra frames are dropped before decoding. */
  fps: z.number().positive().max(30).default(1),
  /** Resize to fit inside width × height (aspect kept); omit to keep the camera's size. */
  width: z.number().int().min(16).max(4096).optional(),
  height: z.number().int().min(16).max(4096).optional(),
  /** JPEG quality of a re-encoded frame (resized or rotated); a frame that fits is published as sent. */
  quality: z.number().int().min(30).max(100).default(80),
  /** Keep one frame every `every` as a media record (evictable; its SHA-256 stays as evidence). 0 = none. */
  keep: z
    .strictObject({ every: duration().default(60_000), data: z.boolean().default(true) })
    .default({ every: 60_000, data: true }),
  /** No frame for this long raises camera.offline. */
  offlineAfter: duration().default(30_000),
};

export const cameraConfigSchema = z
  .strictObject({
    driver: z.literal("camera"),
    ...frameOptions,
    /** http: JPEG snapshot URL; ffmpeg: any ffmpeg input through an MJPEG pipe; dir: replay JPEG files. */
    mode: z.enum(["http", "ffmpeg", "dir"]),
    /** http: snapshot URL (credentials in the URL are sent as basic auth). */
    url: z.string().url().optional(),
    /** ffmpeg: input arguments, e.g. ["-f", "v4l2", "-i", "/dev/video0"] or ["-rtsp_transport", "tcp", "-i", "rtsp://…"]. */
    input: z.array(z.string()).min(2).optional(),
    /** dir: a folder of .jpg files replayed in name order. */
    path: z.string().min(1).optional(),
    loop: z.boolean().default(true),
    /** Per snapshot request; for ffmpeg, the longest gap between frames before it is restarted. */
    timeout: duration().default(10_000),
    reconnectMin: duration().default(1000),
    reconnectMax: duration().default(60_000),
  })
  .superRefine((c, ctx) => {
    const need = { http: "url", ffmpeg: "input", dir: "path" } as const;
    const key = need[c.mode];
    if (c[key] === undefined)
      ctx.addIssue({ code: "custom", path: [key], message: `mode ${c.mode} needs ${key}` });
  });
export type CameraConfig = z.output<typeof cameraConfigSchema>;
export type FrameOptions = Pick<
  CameraConfig,
  "name" | "fps" | "width" | "height" | "quality" | "keep" | "offlineAfter"
>;
