import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { join } from "node:path";
import { httpCall } from "../../core/http-request.ts";
import { sleep } from "../common/backoff.ts";
import { stopChild } from "../common/pty-pair.ts";
import { ERR_CAMERA_FRAME } from "../errors.ts";
import type { CameraConfig } from "./config.ts";
import { isJpeg, MjpegSplitter } from "./mjpeg-splitter.ts";

/**
 * A grabber produces JPEG bytes until it fails (rejects: the source backs off and restarts it) or
 * the signal aborts (resolves). One per mode; the source owns rate, decode and reconnect policy.
 */
export type Grabber = (signal: AbortSignal, onJpeg: (jpeg: Buffer) => Promise<unknown>) => Promise<void>;

export function grabberFor(cfg: CameraConfig): Grabber {
  if (cfg.mode === "http") return httpGrabber(cfg.url!, cfg.fps, cfg.timeout);
  if (cfg.mode === "ffmpeg") return ffmpegGrabber(cfg.input!, cfg.fps, cfg.timeout);
  return dirGrabber(cfg.path!, cfg.fps, cfg.loop);
}

/**
 * Polls a snapshot URL; a response slower than `timeout` (a stalled camera) is abandoned. Through
 * node:http(s) (core/http-request.ts) with one kept-alive connection per camera: the same request
 * as fetch's (redirects followed, credentials as basic auth), at about half its CPU per snapshot,
 * and it works where V8 runs without WebAssembly (issue #15).
 */
export function httpGrabber(url: string, fps: number, timeout: number): Grabber {
  const host = new URL(url).host;
  return async (signal, onJpeg) => {
    const agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: 1 }),
    };
    try {
      while (!signal.aborted) {
        const t0 = Date.now();
        let body: Buffer;
        try {
          const a = await httpCall(url, {
            agents,
            signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
          });
          if (a.status < 200 || a.status >= 300) throw ERR_CAMERA_FRAME(`${host}: HTTP ${a.status}`);
          body = a.body;
        } catch (e) {
          if (signal.aborted) return;
          const name = (e as Error).name;
          throw name === "TimeoutError"
            ? ERR_CAMERA_FRAME(`${host}: no snapshot within ${timeout} ms (stalled)`)
            : e;
        }
        if (!isJpeg(body)) throw ERR_CAMERA_FRAME(`${host}: response is not a JPEG (${body.length} bytes)`);
        await onJpeg(body);
        await sleep(Math.max(0, 1000 / fps - (Date.now() - t0)), signal);
      }
    } finally {
      agents.http.destroy();
      agents.https.destroy();
    }
  };
}

/** Runs ffmpeg with any input (V4L2, RTSP, a file, lavfi) and reads its MJPEG output pipe. */
export function ffmpegGrabber(input: string[], fps: number, timeout: number): Grabber {
  return (signal, onJpeg) =>
    new Promise<void>((resolve, reject) => {
      const args = ["-hide_banner", "-loglevel", "error", "-nostdin", ...input];
      // fps filter in ffmpeg, so frames we would drop are never encoded (CPU on a Pi).
      args.push("-an", "-vf", `fps=${fps}`, "-f", "mjpeg", "-q:v", "4", "pipe:1");
      const child = spawn("ffmpeg", args, { stdio: ["ignore", "pipe", "pipe"] });
      const splitter = new MjpegSplitter();
      let stderr = "";
      let settled = false;
      let watchdog = setTimeout(
        () => fail(ERR_CAMERA_FRAME(`ffmpeg gave no frame within ${timeout} ms`)),
        timeout,
      );
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        signal.removeEventListener("abort", onAbort);
        void stopChild(child).then(() => (err ? reject(err) : resolve()));
      };
      const fail = (e: Error) => finish(e);
      const onAbort = () => finish();
      signal.addEventListener("abort", onAbort, { once: true });
      child.on("error", (e) => fail(ERR_CAMERA_FRAME(`cannot run ffmpeg: ${e.message}`)));
      child.stderr.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-1000);
      });
      child.stdout.on("data", (chunk: Buffer) => {
        for (const jpeg of splitter.push(chunk)) {
          clearTimeout(watchdog);
          watchdog = setTimeout(
            () => fail(ERR_CAMERA_FRAME(`ffmpeg stalled: no frame for ${timeout} ms`)),
            timeout,
          );
          void onJpeg(jpeg);
        }
      });
      child.on("exit", (code) =>
        fail(ERR_CAMERA_FRAME(`ffmpeg exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`)),
      );
    });
}

/** Replays a folder of JPEGs in name order (test footage, a farm's own photos). */
export function dirGrabber(path: string, fps: number, loop: boolean): Grabber {
  return async (signal, onJpeg) => {
    do {
      const files = (await readdir(path)).filter((f) => /\.jpe?g$/i.test(f)).sort();
      if (files.length === 0) throw ERR_CAMERA_FRAME(`${path}: no .jpg files to replay`);
      for (const f of files) {
        if (signal.aborted) return;
        await onJpeg(await readFile(join(path, f)));
        await sleep(1000 / fps, signal);
      }
    } while (loop && !signal.aborted);
  };
}
