import { createHash } from "node:crypto";
import sharp from "sharp";
import type { z } from "zod";
import type { Frame, FrameSource } from "../camera-types.ts";
import type { ControllerHandlers, RobotController } from "./controller.ts";
import { simControllerConfig } from "./controller-configs.ts";
import type { PatrolPlan } from "./plan.ts";
import { type PanelSpec, rackPanel, renderPanel } from "./sim-panel.ts";

export { simControllerConfig };

type Config = z.output<typeof simControllerConfig>;

/** A SIMULATED panel camera (no camera here): the panel of the rack the simulated robot stands at. */
class SimPanelCamera implements FrameSource {
  private readonly listeners = new Set<(f: Frame) => void>();
  private last?: Frame;
  private timer?: NodeJS.Timeout;
  private gen = 0;
  private i = 0;
  constructor(readonly camera: string) {}
  onFrame(l: (f: Frame) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  latest() {
    return this.last;
  }
  show(scene: PanelSpec | undefined, fps: number) {
    clearInterval(this.timer);
    // A render still under way for the previous rack must not deliver its frame after the switch.
    const gen = ++this.gen;
    if (!scene) return;
    this.i = 0;
    this.timer = setInterval(async () => {
      const jpeg = await renderPanel(scene, this.i++);
      const meta = await sharp(jpeg).metadata();
      if (gen !== this.gen) return;
      const f: Frame = {
        camera: this.camera,
        jpeg,
        sha256: createHash("sha256").update(jpeg).digest("hex"),
        width: meta.width ?? scene.width,
        height: meta.height ?? scene.height,
        t: { wall: Date.now(), mono: Math.round(performance.now()), boot: "sim", synced: false },
      };
      this.last = f;
      for (const l of this.listeners) l(f);
    }, 1000 / fps);
  }
}

/**
 * A SIMULATED robot controller (no robot): walks the plan it was sent, reports arrival with its
 * environment sensors (planted overheating where configured), departure, blocked checkpoints, and
 * docking; its camera shows each rack's panel (planted lamp/breaker/meter/label faults).
 */
export class SimController implements RobotController {
  readonly transport = "sim";
  readonly camera: SimPanelCamera;
  private plan?: PatrolPlan;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private n = 0;
  constructor(
    private readonly c: Config,
    cameraName: string,
  ) {
    this.camera = new SimPanelCamera(cameraName);
  }

  async start(h: ControllerHandlers): Promise<void> {
    h.connection(true);
    h.event({ type: "docked" });
    const later = (ms: number, f: () => void) => {
      if (!this.stopped) this.timer = setTimeout(f, ms);
    };
    const round = () => {
      const plan = this.plan;
      if (!plan) return later(this.c.dockTime, round);
      h.event({ type: "undocked" });
      h.event({ type: "battery", percent: 96 });
      const step = (i: number) => {
        const cp = plan.checkpoints[i];
        if (!cp) {
          this.camera.show(undefined, this.c.fps);
          h.event({ type: "docked" });
          h.event({ type: "battery", percent: 71 });
          return later(this.c.dockTime, round);
        }
        if (this.c.blocked[cp.id]) {
          h.event({ type: "skipped", checkpoint: cp.id, reason: this.c.blocked[cp.id]! });
          return later(this.c.interval / 4, () => step(i + 1));
        }
        const f = this.c.faults[cp.id] ?? {};
        const normal = this.c.temperatures[cp.id] ?? 24;
        // ±0.3 °C of deterministic wobble, far inside any sensible limit.
        const wobble = Math.round(Math.sin(++this.n * 1.7) * 3) / 10;
        this.camera.show(rackPanel(cp.id, f), this.c.fps);
        h.event({ type: "pose", x: i * 2.5, y: 1.2, theta: 0 });
        h.event({
          type: "arrived",
          checkpoint: cp.id,
          env: {
            temperature: (f.temperature ?? normal) + wobble,
            humidity: 45,
            smoke: false,
            waterLeak: false,
            noiseDb: 62,
          },
        });
        later(this.c.interval, () => {
          h.event({ type: "departed", checkpoint: cp.id });
          step(i + 1);
        });
      };
      step(0);
    };
    later(Math.min(this.c.dockTime, 500), round);
  }

  async sendMission(plan: PatrolPlan): Promise<void> {
    this.plan = plan;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.camera.show(undefined, this.c.fps);
  }
}
