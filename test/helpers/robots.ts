import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import mqtt from "mqtt";
import { type WebSocket, WebSocketServer } from "ws";
import type { Frame, FrameSource } from "../../drivers/camera-types.ts";
import { type PanelSpec, renderPanel } from "../../drivers/patrol/sim-panel.ts";
import { waitFor } from "./wait-for.ts";

/**
 * The robot side of a patrol, for tests: a robot controller speaking either transport the patrol
 * driver supports, and a SIMULATED camera (no camera here) showing a rendered equipment panel.
 */
export interface TestRobot {
  arrive(checkpoint: string, env: Record<string, number | boolean>): Promise<void>;
  depart(checkpoint: string): Promise<void>;
  skip(checkpoint: string, reason: string): Promise<void>;
  dock(docked: boolean): Promise<void>;
  battery(percent: number): Promise<void>;
  pose(x: number, y: number, theta: number): Promise<void>;
  /** Raw text on the checkpoint topic (to test that garbage is refused). */
  raw(text: string): Promise<void>;
  /** Missions the agent sent, parsed. */
  missions: Array<{ plan: string; checkpoints: string[] }>;
  /** Resolves once the agent is connected and subscribed. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const waitUntil = async (f: () => boolean, what: string): Promise<void> => {
  await waitFor(f, what);
};

/** A robot publishing JSON on MQTT topics under `prefix` (on a real broker). */
export async function mqttRobot(url: string, prefix: string): Promise<TestRobot> {
  const c = await mqtt.connectAsync(url, { clientId: `test-robot-${prefix.replace(/\W/g, "-")}` });
  const missions: TestRobot["missions"] = [];
  c.on("message", (_t, p) => {
    if (p.length) missions.push(JSON.parse(p.toString()));
  });
  await c.subscribeAsync(`${prefix}/mission`, { qos: 1 });
  const pub = async (leaf: string, o: unknown) => {
    await c.publishAsync(`${prefix}/${leaf}`, typeof o === "string" ? o : JSON.stringify(o), { qos: 1 });
  };
  return {
    missions,
    arrive: (checkpoint, env) => pub("checkpoint", { type: "arrived", checkpoint, env }),
    depart: (checkpoint) => pub("checkpoint", { type: "departed", checkpoint }),
    skip: (checkpoint, reason) => pub("checkpoint", { type: "skipped", checkpoint, reason }),
    dock: (docked) => pub("dock", { docked }),
    battery: (percent) => pub("battery", { percent }),
    pose: (x, y, theta) => pub("pose", { x, y, theta }),
    raw: (text) => pub("checkpoint", text),
    // The mission is retained: once it is here the agent has connected (and subscribed just before publishing it).
    ready: () => waitUntil(() => missions.length > 0, "the agent's mission on MQTT"),
    close: async () => {
      // The agent's mission is retained on the shared broker: clear it.
      await c.publishAsync(`${prefix}/mission`, "", { qos: 1, retain: true });
      await c.endAsync();
    },
  };
}

/**
 * A small server speaking rosbridge's v2 JSON protocol over WebSocket (subscribe / advertise /
 * publish ops), written for the tests: NOT rosbridge_server itself, which needs a ROS 2 install.
 */
export async function rosbridgeRobot(): Promise<
  TestRobot & { url: string; ops: Array<Record<string, unknown>> }
> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const subs = new Map<string, Set<WebSocket>>();
  const ops: Array<Record<string, unknown>> = [];
  const missions: TestRobot["missions"] = [];
  wss.on("connection", (ws) => {
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString()) as { op: string; topic: string; msg?: { data?: string } };
      ops.push(m);
      if (m.op === "subscribe") {
        const s = subs.get(m.topic) ?? new Set();
        s.add(ws);
        subs.set(m.topic, s);
      } else if (m.op === "publish" && m.topic === "/patrol/mission") missions.push(JSON.parse(m.msg!.data!));
    });
    ws.on("close", () => {
      for (const s of subs.values()) s.delete(ws);
    });
  });
  const pub = async (topic: string, msg: unknown) => {
    for (const ws of subs.get(topic) ?? []) ws.send(JSON.stringify({ op: "publish", topic, msg }));
  };
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const quat = (theta: number) => ({ x: 0, y: 0, z: Math.sin(theta / 2), w: Math.cos(theta / 2) });
  return {
    url,
    ops,
    missions,
    arrive: (checkpoint, env) =>
      pub("/patrol/checkpoint", { data: JSON.stringify({ type: "arrived", checkpoint, env }) }),
    depart: (checkpoint) =>
      pub("/patrol/checkpoint", { data: JSON.stringify({ type: "departed", checkpoint }) }),
    skip: (checkpoint, reason) =>
      pub("/patrol/checkpoint", { data: JSON.stringify({ type: "skipped", checkpoint, reason }) }),
    dock: (docked) => pub("/dock/status", { data: docked }),
    battery: (percent) => pub("/battery_state", { percentage: percent / 100, voltage: 25.1 }),
    pose: (x, y, theta) =>
      pub("/amcl_pose", {
        header: { frame_id: "map" },
        pose: { pose: { position: { x, y, z: 0 }, orientation: quat(theta) } },
      }),
    raw: (text) => pub("/patrol/checkpoint", { data: text }),
    ready: () =>
      waitUntil(
        () => missions.length > 0 && (subs.get("/patrol/checkpoint")?.size ?? 0) > 0,
        "rosbridge subscriptions",
      ),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** A SIMULATED camera showing a rendered panel, at `fps` frames per second, once `show()` is called. */
export class PanelCamera implements FrameSource {
  private readonly ls = new Set<(f: Frame) => void>();
  private last?: Frame;
  private timer?: NodeJS.Timeout;
  private gen = 0;
  constructor(readonly camera: string) {}
  onFrame(l: (f: Frame) => void) {
    this.ls.add(l);
    return () => this.ls.delete(l);
  }
  latest() {
    return this.last;
  }
  show(spec: PanelSpec | undefined, fps = 10) {
    clearInterval(this.timer);
    // A render still under way for the previous scene must not deliver its frame after the switch.
    const gen = ++this.gen;
    if (!spec) return;
    let i = 0;
    this.timer = setInterval(async () => {
      const jpeg = await renderPanel(spec, i++);
      if (gen !== this.gen) return;
      const f: Frame = {
        camera: this.camera,
        jpeg,
        sha256: createHash("sha256").update(jpeg).digest("hex"),
        width: spec.width,
        height: spec.height,
        t: { wall: Date.now(), mono: Math.round(performance.now()), boot: "test", synced: true },
      };
      this.last = f;
      for (const l of this.ls) l(f);
    }, 1000 / fps);
  }
  stop() {
    clearInterval(this.timer);
  }
}
