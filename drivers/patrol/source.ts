// The patrol source's implementation: imported only when a patrol source starts (index.ts).
import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";
import type { CameraHub, Frame } from "../camera-types.ts";
import type { Source, SourceContext } from "../types.ts";
import { grabBurst } from "./burst.ts";
import type { RobotController, RobotEvent } from "./controller.ts";
import type { patrolConfig } from "./index.ts";
import { inspect } from "./inspect.ts";
import { MqttController } from "./mqtt-controller.ts";
import { type PatrolPlan, parsePlan } from "./plan.ts";
import { applyPlanCommand, PLAN_COMMAND } from "./plan-command.ts";
import { RosbridgeController } from "./rosbridge-controller.ts";
import { RoundTracker } from "./round-tracker.ts";
import { SimController } from "./sim-controller.ts";

type Config = z.output<typeof patrolConfig>;

type Burst = { frames: Promise<Frame[]>; camera: string; missing: boolean };

const STREAM = {
  inspections: "patrol.inspections",
  rounds: "patrol.rounds",
  frames: "patrol.frames",
  plan: "patrol.plan",
};

/**
 * A patrol robot: missions to its controller, checkpoint arrivals from it, equipment checks on the
 * camera's burst at each checkpoint, one `inspection` record per checkpoint, an alarm per violation
 * (with the frame kept as media for the review), a `round` summary and the dock event at the dock.
 */
export class PatrolSource implements Source {
  readonly name: string;
  private readonly ctl: RobotController;
  private readonly rounds = new RoundTracker();
  private plan?: PatrolPlan;
  private next?: PatrolPlan;
  private ctx?: SourceContext;
  private battery?: number;
  private pose?: { x: number; y: number; theta: number };
  private readonly raised = new Set<string>();
  private work: Promise<void> = Promise.resolve();
  private leaving?: () => void;

  constructor(
    private readonly c: Config,
    private readonly cameras?: CameraHub,
  ) {
    this.name = c.name;
    const cc = c.controller;
    if (cc.transport === "mqtt") this.ctl = new MqttController(cc);
    else if (cc.transport === "rosbridge") this.ctl = new RosbridgeController(cc);
    else {
      const sim = new SimController(cc, c.camera ?? `${c.name}.camera`);
      cameras?.register(sim.camera);
      this.ctl = sim;
    }
    const saved =
      c.planFile && existsSync(c.planFile)
        ? parsePlan(JSON.parse(readFileSync(c.planFile, "utf8")))
        : undefined;
    this.plan = saved ?? c.plan;
  }

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    await this.ctl.start({
      // Events are handled one at a time, in order. An arrival's burst starts at once, while the
      // robot stands there, even if an earlier checkpoint's analysis is still running; a departure
      // ends it early (later frames show somewhere else).
      event: (e) => {
        const wall = ctx.clock.now().wall;
        const burst = e.type === "arrived" ? this.startBurst(e.checkpoint) : undefined;
        if (e.type === "departed") this.leaving?.();
        this.work = this.work
          .then(() =>
            e.type === "arrived" ? this.arrived(e.checkpoint, e.env, wall, burst!) : this.onEvent(e, wall),
          )
          .catch((err) => ctx.log.error({ err: String(err) }, "patrol event failed"));
      },
      connection: (up, why) =>
        ctx.alarm({
          code: "robot.unreachable",
          severity: "warning",
          subject: this.name,
          active: !up,
          message: up ? "robot controller connected" : (why ?? "robot controller unreachable"),
        }),
      bad: (err) => {
        ctx.count("robot_bad_messages", { source: this.name });
        ctx.log.warn({ err: err.message }, "ignored a robot message");
      },
    });
    if (this.plan)
      await this.announce(this.plan, this.c.planFile && existsSync(this.c.planFile) ? "cloud" : "config");
  }

  /** Records the plan the agent runs (evidence), then sends it to the robot (not awaited: a robot offline must not stall the agent). */
  private announce(plan: PatrolPlan, from: string): Promise<void> {
    this.ctx!.emit([
      {
        stream: STREAM.plan,
        kind: "event",
        body: {
          input: "plan",
          state: plan.version,
          detail: { from, checkpoints: plan.checkpoints.map((c) => c.id) },
        },
      },
    ]);
    return this.ctl
      .sendMission(plan)
      .catch((e) => this.ctx!.log.warn({ err: (e as Error).message }, "mission not sent"));
  }

  private async onEvent(e: RobotEvent, wall: number) {
    const ctx = this.ctx!;
    switch (e.type) {
      case "battery":
        if (this.battery === undefined || Math.abs(this.battery - e.percent) >= 1)
          ctx.emit([{ stream: "patrol.battery", kind: "reading", body: { value: e.percent, unit: "%" } }]);
        this.battery = e.percent;
        return;
      case "pose":
        this.pose = { x: e.x, y: e.y, theta: e.theta };
        return;
      case "undocked":
        if (this.next) {
          this.plan = this.next;
          this.next = undefined;
        }
        if (this.plan) this.rounds.begin(this.plan, wall);
        ctx.emit([
          { stream: this.c.dockInput, kind: "event", body: { input: this.c.dockInput, state: false } },
        ]);
        return;
      case "docked": {
        const s = this.rounds.end(wall, this.battery);
        // The summary goes before the dock event: the dock is what lifts the alarms-only budget.
        ctx.emit([
          ...(s ? [{ stream: STREAM.rounds, kind: "round", body: s }] : []),
          { stream: this.c.dockInput, kind: "event", body: { input: this.c.dockInput, state: true } },
        ]);
        return;
      }
      case "skipped":
        this.rounds.skipped(e.checkpoint, e.reason);
        return;
      case "departed":
        return;
      case "arrived":
        return; // handled with its burst (start)
    }
  }

  /** Frames for a checkpoint's checks, from the camera its plan names; none when it has no checks. */
  private startBurst(id: string): Burst {
    const cp = (this.rounds.plan ?? this.next ?? this.plan)?.checkpoints.find((c) => c.id === id);
    const camera = cp?.camera ?? this.c.camera ?? `${this.name}.camera`;
    const cam = cp?.checks.length ? this.cameras?.get(camera) : undefined;
    if (!cp || !cam) return { frames: Promise.resolve([]), camera, missing: !!cp?.checks.length };
    const ac = new AbortController();
    this.leaving = () => ac.abort();
    return { frames: grabBurst(cam, cp.burst, this.c.burstTimeout, ac.signal), camera, missing: false };
  }

  private async arrived(id: string, env: Record<string, number | boolean>, wall: number, burst: Burst) {
    const ctx = this.ctx!;
    if (!this.rounds.active && this.plan) this.rounds.begin(this.plan, wall);
    const plan = this.rounds.plan;
    const cp = plan?.checkpoints.find((c) => c.id === id);
    if (!plan || !cp) {
      ctx.log.warn(
        { checkpoint: id, plan: plan?.version },
        "arrival at a checkpoint not in the plan; ignored",
      );
      ctx.count("patrol_unplanned_arrivals", { source: this.name });
      return;
    }
    const frames = await burst.frames;
    const { body, framesBySha } = await inspect(cp, {
      round: this.rounds.round!,
      plan: plan.version,
      arrivedAt: wall,
      readings: env,
      frames,
      cameraMissing: burst.missing ? `camera ${burst.camera} not available` : undefined,
      battery: this.battery,
      pose: this.pose,
    });
    this.rounds.visited(id, body.violations.length);
    const failed = body.checks.filter((c) => c.ok === false);
    // The frames a violation was seen in travel as media (evictable bytes; the hash is in the inspection).
    const shas = [...new Set(failed.map((c) => c.frameSha256).filter((s): s is string => !!s))];
    ctx.emit([
      { stream: STREAM.inspections, kind: "inspection", body },
      ...shas.map((sha) => {
        const f = framesBySha.get(sha)!;
        return {
          stream: STREAM.frames,
          kind: "media",
          body: {
            camera: f.camera,
            mime: "image/jpeg",
            sha256: sha,
            width: f.width,
            height: f.height,
            dataB64: f.jpeg.toString("base64"),
          },
        };
      }),
    ]);
    for (const c of body.checks) {
      const subject = `${id}/${c.id}`;
      if (c.ok === false) {
        this.raised.add(subject);
        ctx.alarm({
          code: "patrol.violation",
          severity: c.type === "limit" || c.seen.startsWith("red") ? "critical" : "warning",
          subject,
          active: true,
          message: `${id} ${c.id}: expected ${c.expected}, seen ${c.seen}`,
          detail: {
            round: body.round,
            checkpoint: id,
            check: c.id,
            ...(c.frameSha256 ? { frameSha256: c.frameSha256 } : {}),
          },
        });
      } else if (c.ok === true && this.raised.delete(subject)) {
        ctx.alarm({
          code: "patrol.violation",
          severity: "info",
          subject,
          active: false,
          message: `${id} ${c.id}: back to ${c.seen}`,
        });
      }
    }
  }

  command(name: string, args: Record<string, unknown>): boolean | Promise<boolean> {
    if (name !== PLAN_COMMAND) return false;
    const plan = applyPlanCommand(args, this.next ?? this.plan, this.c.planFile);
    // Mid-round the robot finishes the round it was given; the new plan starts at the next undock.
    if (this.rounds.active) this.next = plan;
    else this.plan = plan;
    return this.announce(plan, "cloud").then(() => true);
  }

  async stop(): Promise<void> {
    await this.ctl.stop();
    await this.work;
  }
}
