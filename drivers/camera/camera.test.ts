import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { requireTool } from "../../test/helpers/tools.ts";
import { CameraHub, type Frame } from "../camera-types.ts";
import { simCameraConfigSchema, simCameraDriver } from "../sim-camera/index.ts";
import { renderPen } from "../sim-camera/synthetic.ts";
import { cameraConfigSchema } from "./config.ts";
import { FramePublisher } from "./frame-publisher.ts";
import { grabberFor } from "./grabbers.ts";
import { MjpegSplitter } from "./mjpeg-splitter.ts";
import { framePhash } from "./phash.ts";
import { CameraSource } from "./source.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const camera = (o: object) => {
  const cfg = cameraConfigSchema.parse({
    driver: "camera",
    name: "cam",
    reconnectMin: 100,
    reconnectMax: 300,
    ...o,
  });
  return {
    cfg,
    hub: new CameraHub(),
    make: (hub?: CameraHub) => new CameraSource(cfg, grabberFor(cfg), hub),
  };
};

describe("MjpegSplitter", () => {
  it("cuts frames across arbitrary chunk boundaries and skips garbage", async () => {
    const a = await renderPen(1, 64, 64, 1);
    const b = await renderPen(2, 64, 64, 1);
    const stream = Buffer.concat([Buffer.from("junk"), a, b, a.subarray(0, 10)]);
    const s = new MjpegSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) out.push(...s.push(stream.subarray(i, i + 7)));
    expect(out.map(sha)).toEqual([sha(a), sha(b)]);
  });
});

describe.runIf(requireTool("ffmpeg"))("ffmpeg camera", () => {
  it("reads an ffmpeg lavfi test source, resizes, hashes, registers in the hub and keeps media", async () => {
    const { make, hub } = camera({
      mode: "ffmpeg",
      input: ["-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"],
      fps: 5,
      width: 160,
      keep: { every: 0.001, data: true },
    });
    const src = make(hub);
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      const frames: Frame[] = [];
      (await hub.when("cam")).onFrame((f) => frames.push(f));
      await ctx.until(() => frames.length >= 3, "three frames");
      const f = frames[0]!;
      expect([f.width, f.height]).toEqual([160, 120]);
      expect(f.sha256).toBe(sha(f.jpeg));
      expect(f.phash).toBe(await framePhash(f.jpeg));
      const media = ctx.readings.find((r) => r.kind === "media")?.body as {
        sha256: string;
        phash: string;
        dataB64: string;
        width: number;
      };
      expect(media.width).toBe(160);
      expect(sha(Buffer.from(media.dataB64, "base64"))).toBe(media.sha256);
      expect(media.phash).toBe(await framePhash(Buffer.from(media.dataB64, "base64")));
    } finally {
      await src.stop();
    }
  });

  it("probe names the problem when ffmpeg cannot open its input", async () => {
    const { make } = camera({ mode: "ffmpeg", input: ["-i", "/nonexistent/video0"], timeout: 5000 });
    const [r] = await make().probe(new RecordingContext());
    expect(r?.ok).toBe(false);
    expect(r?.error).toMatch(/ffmpeg exited.*nonexistent/);
  });
});

describe("HTTP snapshot camera", () => {
  it("a camera that stalls: timeout counted, offline alarm, recovery clears it", async () => {
    const jpeg = await renderPen(0, 200, 100, 2);
    let stalled = false;
    const server: Server = createServer((req, res) => {
      if (stalled) return; // accept and never answer: the hung IP camera
      if (req.headers.authorization !== `Basic ${Buffer.from("admin:pw").toString("base64")}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "image/jpeg" }).end(jpeg);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const { make } = camera({
      mode: "http",
      url: `http://admin:pw@127.0.0.1:${port}/snap.jpg`,
      fps: 10,
      timeout: 200,
      offlineAfter: 400,
    });
    const src = make();
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.total("camera_frames_total") >= 2, "frames");
      expect(src.frames?.latest()?.width).toBe(200);
      // already within size (no width set), upright: published as the camera sent it, not re-encoded
      expect(src.frames?.latest()?.sha256).toBe(sha(jpeg));
      stalled = true;
      await ctx.until(() => ctx.total("camera_errors_total", { kind: "grab" }) >= 1, "a stall counted");
      await ctx.until(() => ctx.alarms.some((a) => a.active && a.code === "camera.offline"), "offline alarm");
      stalled = false;
      const n = ctx.total("camera_frames_total");
      await ctx.until(() => ctx.total("camera_frames_total") > n, "frames again");
      await ctx.until(() => ctx.alarms.some((a) => !a.active), "alarm cleared");
    } finally {
      await src.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
  it("follows a redirect and keeps one connection across snapshots", async () => {
    const jpeg = await renderPen(0, 200, 100, 2);
    const sockets = new Set<unknown>();
    const server: Server = createServer((req, res) => {
      sockets.add(req.socket);
      if (req.url === "/snap.jpg") return void res.writeHead(302, { location: "/real.jpg" }).end();
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.length }).end(jpeg);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const { make } = camera({ mode: "http", url: `http://127.0.0.1:${port}/snap.jpg`, fps: 20 });
    const src = make();
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.total("camera_frames_total") >= 4, "frames");
      expect(src.frames?.latest()?.sha256).toBe(sha(jpeg));
      expect(sockets.size).toBe(1);
    } finally {
      await src.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe("FramePublisher", () => {
  const publisher = (o: { width?: number; height?: number }) => {
    const ctx = new RecordingContext();
    const opts = { name: "cam", fps: 30, quality: 80, keep: { every: 0, data: false }, offlineAfter: 30_000 };
    return { ctx, pub: new FramePublisher({ ...opts, ...o }, ctx) };
  };

  it("publishes a JPEG that fits as sent; resizes and re-encodes one that does not", async () => {
    const jpeg = await renderPen(5, 320, 240, 2);
    const fits = await publisher({ width: 320 }).pub.offer(jpeg);
    expect(fits).toMatchObject({ sha256: sha(jpeg), width: 320, height: 240, phash: await framePhash(jpeg) });
    expect(fits?.jpeg).toBe(jpeg);
    const big = await publisher({ width: 160 }).pub.offer(jpeg);
    expect(big).toMatchObject({ width: 160, height: 120 });
    expect(big?.sha256).toBe(sha(big!.jpeg));
    expect(big?.sha256).not.toBe(sha(jpeg));
  });

  it("rotates a frame the camera marked with an EXIF orientation, though it fits (header read in JS)", async () => {
    const jpeg = await sharp(await renderPen(7, 320, 240, 2))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const f = await publisher({ width: 640, height: 640 }).pub.offer(jpeg);
    expect(f).toMatchObject({ width: 240, height: 320 });
    expect(f?.jpeg).not.toBe(jpeg);
  });

  it("refuses a truncated JPEG of the right size (counted as a decode error, never published)", async () => {
    const jpeg = await renderPen(6, 320, 240, 2);
    const { ctx, pub } = publisher({ width: 640 });
    const seen: Frame[] = [];
    pub.onFrame((f) => seen.push(f));
    expect(await pub.offer(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)))).toBeUndefined();
    expect(ctx.total("camera_errors_total", { kind: "decode" })).toBe(1);
    expect(seen).toEqual([]);
  });
});

describe("dir replay and the synthetic camera", () => {
  it("replays a folder once in name order; counts an undecodable file", async () => {
    const dir = join(tmpdir(), `bl-cam-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a.jpg"), await renderPen(1, 100, 80, 1));
    writeFileSync(join(dir, "b.jpg"), Buffer.from([0xff, 0xd8, 1, 2, 3, 4]));
    writeFileSync(join(dir, "c.jpg"), await renderPen(3, 100, 80, 1));
    const { make } = camera({ mode: "dir", path: dir, fps: 20, loop: false });
    const src = make();
    const ctx = new RecordingContext();
    const seen: string[] = [];
    await src.start(ctx);
    src.frames?.onFrame((f) => seen.push(f.sha256));
    try {
      await ctx.until(
        () => seen.length === 2 && ctx.total("camera_errors_total", { kind: "decode" }) === 1,
        "two frames, one bad",
      );
    } finally {
      await src.stop();
    }
  });

  it("sim-camera renders distinct frames into the hub", async () => {
    const hub = new CameraHub();
    const src = simCameraDriver.create(
      simCameraConfigSchema.parse({ driver: "sim-camera", name: "pen1", fps: 10 }),
      { cameras: hub },
    );
    const ctx = new RecordingContext();
    await src.start(ctx);
    try {
      const frames: Frame[] = [];
      (await hub.when("pen1")).onFrame((f) => frames.push(f));
      await ctx.until(() => frames.length >= 2, "two frames");
      expect(frames[0]?.sha256).not.toBe(frames[1]?.sha256);
      expect([frames[0]?.width, frames[0]?.height]).toEqual([320, 240]);
    } finally {
      await src.stop();
    }
  });
});
