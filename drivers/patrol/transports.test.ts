import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { mqttRobot, PanelCamera, rosbridgeRobot, type TestRobot } from "../../test/helpers/robots.ts";
import { MOSQUITTO_URL, mosquittoAvailable } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { CameraHub } from "../camera-types.ts";
import type { Source } from "../types.ts";
import { patrolConfig, patrolDriver } from "./index.ts";
import { rackChecks, rackPanel } from "./sim-panel.ts";

/**
 * The patrol source driven through each real transport: MQTT JSON topics on the machine's
 * Mosquitto, and rosbridge's WebSocket protocol against a small rosbridge-protocol server written
 * for the test (test/helpers/robots.ts; not rosbridge_server). The camera is SIMULATED.
 */
const mqttOk = await mosquittoAvailable();

const plan = {
  version: "7",
  checkpoints: [
    {
      id: "rack-a1",
      limits: { temperature: { max: 32 }, smoke: { equals: false } },
      burst: 4,
      checks: rackChecks("rack-a1", 8),
    },
    { id: "rack-a2", limits: { temperature: { max: 32 } }, burst: 4, checks: rackChecks("rack-a2", 8) },
    { id: "ups-room", limits: { temperature: { max: 28 } } },
  ],
};

type Ctl = { transport: "mqtt"; url: string; prefix: string } | { transport: "rosbridge"; url: string };
const cases: Array<[string, boolean, () => Promise<{ robot: TestRobot; controller: Ctl }>]> = [
  [
    "mqtt",
    mqttOk,
    async () => {
      const prefix = `test/robot-${randomBytes(4).toString("hex")}`;
      return {
        robot: await mqttRobot(MOSQUITTO_URL, prefix),
        controller: { transport: "mqtt", url: MOSQUITTO_URL, prefix },
      };
    },
  ],
  [
    "rosbridge",
    true,
    async () => {
      const robot = await rosbridgeRobot();
      return { robot, controller: { transport: "rosbridge", url: robot.url } };
    },
  ],
];

describe.each(cases)("patrol source over %s", (_name, available, setup) => {
  let robot: TestRobot | undefined;
  let src: Source | undefined;
  const cam = new PanelCamera("front");
  afterEach(async () => {
    await src?.stop();
    await robot?.close();
    cam.stop();
  });

  it.runIf(available)(
    "sends the mission, inspects each checkpoint, flags only the planted faults, summarises the round at the dock",
    async () => {
      const s = await setup();
      robot = s.robot;
      const hub = new CameraHub();
      hub.register(cam);
      const ctx = new RecordingContext();
      src = patrolDriver.create(
        patrolConfig.parse({
          driver: "patrol",
          name: "bot",
          controller: s.controller,
          plan,
          camera: "front",
        }),
        { cameras: hub },
      );
      await src.start(ctx);
      await robot.ready();
      expect(robot.missions.at(-1)).toEqual({ plan: "7", checkpoints: ["rack-a1", "rack-a2", "ups-room"] });
      const inspections = () => ctx.readings.filter((r) => r.kind === "inspection");

      await robot.dock(false);
      await robot.battery(88);
      await robot.pose(1.5, 2, Math.PI / 2);
      await robot.raw("{not json");
      cam.show(rackPanel("rack-a1"));
      await robot.arrive("rack-a1", { temperature: 24.5, humidity: 44, smoke: false });
      await waitFor(() => inspections().length === 1, "first inspection");
      await robot.depart("rack-a1");
      cam.show(rackPanel("rack-a2", { faultLamp: "red" }));
      await robot.arrive("rack-a2", { temperature: 41.2, humidity: 40 });
      await waitFor(() => inspections().length === 2, "second inspection");
      cam.show(undefined);
      await robot.skip("ups-room", "door closed");
      await robot.dock(true);
      const round = await waitFor(() => ctx.readings.find((r) => r.kind === "round"), "round summary");

      const [a1, a2] = inspections().map(
        (r) =>
          r.body as {
            ok: boolean;
            violations: string[];
            checks: Array<{ ok: boolean | null; frameSha256?: string }>;
            battery?: number;
            pose?: { theta: number };
          },
      );
      expect(a1).toMatchObject({ ok: true, violations: [], battery: 88 });
      expect(a1!.checks.every((c) => c.ok === true)).toBe(true);
      expect(a1!.pose!.theta).toBeCloseTo(Math.PI / 2, 3);
      expect(a2!.ok).toBe(false);
      expect(a2!.violations).toEqual([
        "temperature: expected <= 32, seen 41.2",
        "fault-lamp: expected off, seen red steady",
      ]);
      expect(round.body).toMatchObject({
        plan: "7",
        planned: ["rack-a1", "rack-a2", "ups-room"],
        visited: ["rack-a1", "rack-a2"],
        skipped: [{ checkpoint: "ups-room", reason: "door closed" }],
        violations: 2,
      });
      // The violation's frame travels as media, its hash the one the inspection names.
      const lampSha = (a2!.checks as Array<{ ok: boolean | null; frameSha256?: string }>).find(
        (c) => c.ok === false && c.frameSha256,
      )!.frameSha256;
      expect(
        ctx.readings.filter((r) => r.kind === "media").map((r) => (r.body as { sha256: string }).sha256),
      ).toEqual([lampSha]);
      expect(
        ctx.alarms.filter((a) => a.code === "patrol.violation").map((a) => [a.subject, a.severity]),
      ).toEqual([
        ["rack-a2/temperature", "critical"],
        ["rack-a2/fault-lamp", "critical"],
      ]);
      const dock = ctx.readings
        .filter((r) => r.stream === "dock")
        .map((r) => (r.body as { state: boolean }).state);
      expect(dock).toEqual([false, true]);
      expect(ctx.total("robot_bad_messages")).toBe(1);
      expect(ctx.readings.find((r) => r.stream === "patrol.plan")?.body).toMatchObject({
        input: "plan",
        state: "7",
      });

      // A pushed plan replaces the mission (sent to the robot); an older one is refused.
      expect(await src.command!("patrol.plan", { plan: { ...plan, version: "8" } })).toBe(true);
      await waitFor(() => robot!.missions.some((m) => m.plan === "8"), "mission v8 at the robot");
      expect(() => src!.command!("patrol.plan", { plan: { ...plan, version: "6" } })).toThrow(
        /BL_PATROL_PLAN|not newer/,
      );
    },
    60_000,
  );
});
