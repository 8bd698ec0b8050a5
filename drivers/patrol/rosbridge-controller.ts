import WebSocket from "ws";
import type { z } from "zod";
import {
  type ControllerHandlers,
  missionMessage,
  parseJson,
  parseRobotEvent,
  type RobotController,
  type RobotEvent,
} from "./controller.ts";
import { rosbridgeControllerConfig } from "./controller-configs.ts";
import { ERR_ROBOT_MESSAGE, ERR_ROBOT_UNREACHABLE } from "./errors.ts";
import type { PatrolPlan } from "./plan.ts";

export { rosbridgeControllerConfig };

type Config = z.output<typeof rosbridgeControllerConfig>;

const TYPES = {
  checkpoint: "std_msgs/msg/String",
  dock: "std_msgs/msg/Bool",
  battery: "sensor_msgs/msg/BatteryState",
  pose: "geometry_msgs/msg/PoseWithCovarianceStamped",
} as const;

/**
 * A ROS 2 robot through rosbridge's WebSocket protocol (rosbridge v2 JSON: `subscribe`, `advertise`,
 * `publish` ops; https://github.com/RobotWebTools/rosbridge_suite/blob/ros2/ROSBRIDGE_PROTOCOL.md).
 * Reconnects every 2 s while the socket is gone and subscribes again.
 */
export class RosbridgeController implements RobotController {
  readonly transport = "rosbridge";
  private ws?: WebSocket;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private h?: ControllerHandlers;
  private pending?: string;
  constructor(private readonly c: Config) {}

  async start(h: ControllerHandlers): Promise<void> {
    this.h = h;
    this.connect();
  }

  private connect() {
    if (this.stopped) return;
    const ws = new WebSocket(this.c.url, { handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on("open", () => {
      const t = this.c.topics;
      for (const k of ["checkpoint", "dock", "battery", "pose"] as const)
        this.op({
          op: "subscribe",
          id: `barnlink-${k}`,
          topic: t[k],
          type: TYPES[k],
          ...(k === "pose" ? { throttle_rate: this.c.poseThrottle } : {}),
        });
      this.op({ op: "advertise", id: "barnlink-mission", topic: t.mission, type: "std_msgs/msg/String" });
      this.h!.connection(true);
      if (this.pending) this.op({ op: "publish", topic: t.mission, msg: { data: this.pending } });
    });
    ws.on("message", (data) => {
      try {
        const e = this.decode(data.toString());
        if (e) this.h!.event(e);
      } catch (err) {
        this.h!.bad(err as Error);
      }
    });
    ws.on("error", (e) =>
      this.h!.connection(false, ERR_ROBOT_UNREACHABLE(`${this.c.url}: ${e.message}`).message),
    );
    ws.on("close", () => {
      this.h!.connection(false, `rosbridge ${this.c.url} closed`);
      if (!this.stopped) this.retry = setTimeout(() => this.connect(), 2000);
    });
  }

  private op(o: Record<string, unknown>) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(o));
  }

  /** Maps one rosbridge message onto a RobotEvent; ops other than `publish` (status, service replies) are ignored. */
  private decode(text: string): RobotEvent | undefined {
    const m = parseJson(text, "rosbridge") as { op?: string; topic?: string; msg?: Record<string, unknown> };
    if (m?.op !== "publish") return undefined;
    const t = this.c.topics;
    const msg = m.msg ?? {};
    const where = `rosbridge ${m.topic}`;
    switch (m.topic) {
      case t.checkpoint:
        if (typeof msg.data !== "string") throw ERR_ROBOT_MESSAGE(`${where}: msg.data must be a JSON string`);
        return parseRobotEvent(parseJson(msg.data, where), where);
      case t.dock:
        return parseRobotEvent(
          { type: msg.data === true ? "docked" : msg.data === false ? "undocked" : "?" },
          where,
        );
      case t.battery:
        // sensor_msgs/BatteryState.percentage is 0..1 (NaN when unmeasured).
        return parseRobotEvent(
          { type: "battery", percent: Math.round(Number(msg.percentage) * 1000) / 10 },
          where,
        );
      case t.pose: {
        const p = (
          msg.pose as {
            pose?: { position?: { x?: number; y?: number }; orientation?: Record<string, number> };
          }
        )?.pose;
        const q = p?.orientation ?? {};
        // Yaw from the quaternion (REP 103: z up).
        const theta = Math.atan2(
          2 * ((q.w ?? 1) * (q.z ?? 0) + (q.x ?? 0) * (q.y ?? 0)),
          1 - 2 * ((q.y ?? 0) ** 2 + (q.z ?? 0) ** 2),
        );
        return parseRobotEvent({ type: "pose", x: p?.position?.x, y: p?.position?.y, theta }, where);
      }
      default:
        return undefined;
    }
  }

  async sendMission(plan: PatrolPlan): Promise<void> {
    // Kept and sent again on every (re)connect: a robot that restarts still gets its mission.
    this.pending = JSON.stringify(missionMessage(plan));
    this.op({ op: "publish", topic: this.c.topics.mission, msg: { data: this.pending } });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once("close", () => resolve());
      ws.close();
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }
}
