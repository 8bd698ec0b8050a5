import mqtt, { type MqttClient } from "mqtt";
import type { z } from "zod";
import {
  type ControllerHandlers,
  missionMessage,
  parseJson,
  parseRobotEvent,
  type RobotController,
  type RobotEvent,
} from "./controller.ts";
import { mqttControllerConfig } from "./controller-configs.ts";
import { ERR_ROBOT_UNREACHABLE } from "./errors.ts";
import type { PatrolPlan } from "./plan.ts";

export { mqttControllerConfig };

type Config = z.output<typeof mqttControllerConfig>;

/**
 * A robot controller speaking JSON over MQTT topics (a common IDC-robot integration):
 * - `{prefix}/checkpoint`: `{"type":"arrived","checkpoint":"rack-a3","env":{"temperature":31}}`,
 *   `{"type":"departed",…}`, `{"type":"skipped","checkpoint":…,"reason":"aisle blocked"}`
 * - `{prefix}/dock`: `{"docked":true}`; `{prefix}/battery`: `{"percent":81}`; `{prefix}/pose`: `{"x":…,"y":…,"theta":…}`
 * The mission goes to `{prefix}/mission` (retained, QoS 1: a robot that reconnects still gets it).
 */
export class MqttController implements RobotController {
  readonly transport = "mqtt";
  private client?: MqttClient;
  private subscribed!: Promise<void>;
  constructor(private readonly c: Config) {}

  async start(h: ControllerHandlers): Promise<void> {
    const p = this.c.prefix;
    const client = mqtt.connect(this.c.url, {
      username: this.c.username,
      password: this.c.password,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
    });
    this.client = client;
    let subscribed: () => void;
    this.subscribed = new Promise((r) => {
      subscribed = r;
    });
    client.on("connect", () => {
      h.connection(true);
      client.subscribe([`${p}/checkpoint`, `${p}/dock`, `${p}/battery`, `${p}/pose`], { qos: 1 }, (err) => {
        if (!err) subscribed();
      });
    });
    client.on("close", () => h.connection(false, `MQTT connection to ${this.c.url} closed`));
    client.on("error", (e) =>
      h.connection(false, ERR_ROBOT_UNREACHABLE(`${this.c.url}: ${e.message}`).message),
    );
    client.on("message", (topic, payload) => {
      try {
        h.event(this.decode(topic.slice(p.length + 1), payload.toString("utf8"), topic));
      } catch (e) {
        h.bad(e as Error);
      }
    });
  }

  private decode(leaf: string, text: string, topic: string): RobotEvent {
    const v = parseJson(text, topic) as Record<string, unknown> | null;
    const o = typeof v === "object" && v !== null ? v : { value: v };
    switch (leaf) {
      case "dock":
        return parseRobotEvent(
          { type: o.docked === true ? "docked" : o.docked === false ? "undocked" : "?" },
          topic,
        );
      case "battery":
        return parseRobotEvent({ type: "battery", percent: o.percent }, topic);
      case "pose":
        return parseRobotEvent({ type: "pose", x: o.x, y: o.y, theta: o.theta }, topic);
      default:
        return parseRobotEvent(o, topic);
    }
  }

  /** Published once the agent listens: a robot that starts on its mission at once is heard from the first message. */
  async sendMission(plan: PatrolPlan): Promise<void> {
    await this.subscribed;
    await this.client?.publishAsync(`${this.c.prefix}/mission`, JSON.stringify(missionMessage(plan)), {
      qos: 1,
      retain: true,
    });
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
