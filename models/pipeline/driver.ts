import { CameraHub, type FrameSource } from "../../drivers/camera-types.ts";
import type { DriverDef, DriverDeps, Source, SourceContext } from "../../drivers/types.ts";
import { readCard } from "../embed/card.ts";
import { type Embedder, loadEmbedder } from "../embed/embedder.ts";
import { Gallery } from "../gallery/gallery.ts";
import { ensureRuntime, type RuntimeInfo } from "../runtime.ts";
import type { SyntheticCamera } from "../synth/camera.ts";
import { type FacesConfig, facesConfig } from "./config.ts";
import { FacePipeline } from "./face-pipeline.ts";
import { resolveModelDir } from "./model-dir.ts";
import { startSyntheticFeeder } from "./synthetic-feeder.ts";
import { herdOperatingPoint, type OperatingPoint } from "./threshold.ts";

export interface FacesStatus {
  backend: string | null;
  model: string | null;
  pigs: number;
  templates: number;
  frames: number;
  dropped: number;
  /** The matcher's threshold on this herd and what it buys (shown on the gateway page, carried in census). */
  operatingPoint: OperatingPoint | null;
}

/** The faces source: a camera from the hub, one pipeline, census timer, model hot-swap after rollout. */
export class FacesSource implements Source {
  readonly name: string;
  private rt: RuntimeInfo | undefined;
  private embedder: Embedder | undefined;
  private gallery: Gallery | undefined;
  private pipeline: FacePipeline | undefined;
  private synthetic: SyntheticCamera | undefined;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private inflight: Promise<unknown> = Promise.resolve();
  private frames = 0;
  private dropped = 0;
  private modelDir = "";
  private cardThreshold = 0.6;
  private ctx: SourceContext | undefined;

  constructor(
    private readonly c: FacesConfig,
    private readonly hub: CameraHub,
  ) {
    this.name = c.name;
  }

  status(): FacesStatus {
    return {
      backend: this.rt?.backend ?? null,
      model: this.embedder?.version ?? null,
      pigs: this.gallery?.pigs().length ?? 0,
      templates: this.gallery?.templateCount ?? 0,
      frames: this.frames,
      dropped: this.dropped,
      operatingPoint: this.pipeline?.o.operatingPoint ?? null,
    };
  }

  /**
   * Loads the model version now current (after a rollout install or rollback); a no-op when it is
   * the one running. If the new model fails to load, the old one keeps running. Returns the version.
   */
  async reloadModel(): Promise<string | null> {
    const ctx = this.ctx;
    if (ctx) await this.exclusive(() => this.loadModel(ctx));
    return this.embedder?.version ?? null;
  }

  /** Runs one thing at a time: a frame, a model swap, or stopping (never a swap mid-frame). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.busy) await this.inflight;
    this.busy = true;
    const p = fn();
    this.inflight = p.catch(() => {});
    try {
      return await p;
    } finally {
      this.busy = false;
    }
  }

  private async loadModel(ctx: SourceContext): Promise<void> {
    const dir = resolveModelDir(this.c.model);
    if (dir === this.modelDir) return;
    const next = await loadEmbedder(dir);
    this.cardThreshold = readCard(dir)?.threshold ?? 0.6;
    if (!this.gallery) {
      this.gallery = new Gallery(this.c.gallery, { dim: next.dim, modelVersion: next.version });
    }
    if (this.gallery.templateModel !== next.version) {
      // Templates from another model are not comparable: re-embed them from their stored crops.
      const n = this.gallery.reembed((crop) => next.embed(crop, 1), next.version);
      ctx.log.info({ templates: n, model: next.version }, "gallery re-embedded for new face model");
    }
    this.embedder?.dispose();
    this.embedder = next;
    this.modelDir = dir;
    const threshold = this.threshold();
    this.pipeline = new FacePipeline(next, this.gallery, this.pipelineOptions(threshold), ctx);
    this.recalibrate();
    ctx.log.info({ model: next.version, dir, threshold, backend: this.rt?.backend }, "face model in use");
  }

  /** The configured threshold, else one calibrated on this herd's gallery (up or down from the card's). */
  private operatingPoint(): OperatingPoint {
    const op = herdOperatingPoint(this.cardThreshold, this.gallery!);
    return this.c.threshold === undefined ? op : { ...op, threshold: this.c.threshold, source: "card" };
  }

  private threshold(): number {
    return this.operatingPoint().threshold;
  }

  /** Re-calibrates on the gallery as it is now (templates enrolled, refreshed, capped). */
  private recalibrate(): void {
    if (!this.pipeline) return;
    const op = this.operatingPoint();
    this.pipeline.o.threshold = op.threshold;
    this.pipeline.o.operatingPoint = op;
    this.pipeline.o.visitSimilarity = this.c.visitSimilarity ?? op.threshold - 0.25;
  }

  private pipelineOptions(threshold: number) {
    const c = this.c;
    return {
      camera: c.camera,
      barn: c.barn,
      rois: c.rois,
      threshold,
      refreshThreshold: c.refreshThreshold,
      quality: {
        minFacePx: c.minFacePx,
        minSharpness: c.minSharpness,
        exposure: c.exposure,
        maxClipped: c.maxClipped,
      },
      qr: c.qr,
      qrEveryMs: c.qrEvery,
      unknownAfter: c.unknownAfter,
      visitGapMs: c.visitGap,
      visitSimilarity: c.visitSimilarity ?? threshold - 0.25,
      still: { diff: c.stillDiff, maxAgeMs: c.stillMaxAge },
      censusWindowMs: c.censusWindow,
      keepLabelledMs: c.keepLabelled,
      unseenDays: c.unseenDays,
    };
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.rt = await ensureRuntime({
      prefer: this.c.backend === "auto" ? undefined : this.c.backend,
      log: ctx.log,
    });
    await this.loadModel(ctx);
    if (this.c.synthetic && !this.hub.get(this.c.camera)) {
      this.synthetic = await startSyntheticFeeder(this.c, this.hub, ctx, this.embedder!, this.gallery!);
    }
    const cam: FrameSource = await this.hub.when(this.c.camera);
    this.unsubscribe = cam.onFrame((f) => {
      // One frame at a time; frames arriving while busy are dropped (counted), never queued.
      if (this.busy) {
        this.dropped++;
        return;
      }
      this.frames++;
      this.exclusive(() => this.pipeline!.process(f)).catch((e) =>
        ctx.log.warn({ err: e, camera: this.c.camera }, "face pipeline failed on a frame"),
      );
    });
    let lastCheck = ctx.clock.mono();
    this.timer = setInterval(() => {
      this.pipeline?.tick(ctx.clock.now().wall);
      if (ctx.clock.mono() - lastCheck >= this.c.modelCheck && !this.busy) {
        lastCheck = ctx.clock.mono();
        this.recalibrate();
        this.exclusive(() => this.loadModel(ctx)).catch((e) =>
          ctx.log.error({ err: e }, "new face model failed to load; old one kept"),
        );
      }
    }, 1000);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.synthetic?.stop();
    if (this.timer) clearInterval(this.timer);
    await this.exclusive(async () => {
      this.gallery?.close();
      this.embedder?.dispose();
      this.gallery = undefined;
      this.embedder = undefined;
    });
  }
}

export const facesDriver: DriverDef<typeof facesConfig> = {
  name: "faces",
  description: "Pig-face identification on a camera: sightings, unknown-pig alarms, census by faces.",
  configSchema: facesConfig,
  create(config, deps?: DriverDeps) {
    return new FacesSource(config, deps?.cameras ?? new CameraHub());
  },
};
