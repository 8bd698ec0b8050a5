import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { rackChecks } from "../../drivers/patrol/sim-panel.ts";
import type { DemoBarn } from "./configs.ts";

/** The demo's data-centre robot: four checkpoints, a red fault lamp planted on rack-a2 and an overheating rack-a3. */
export const DEMO_ROBOT = "dc-robot-1";

/** The patrol source of the demo robot (SIMULATED robot and camera); timings in real milliseconds. */
export function demoPatrolSource(o: { interval?: number; dockTime?: number } = {}) {
  const racks = ["rack-a1", "rack-a2", "rack-a3"];
  return {
    driver: "patrol",
    name: "robot",
    controller: {
      transport: "sim",
      interval: o.interval ?? 4000,
      dockTime: o.dockTime ?? 20_000,
      temperatures: { "rack-a1": 24, "rack-a2": 25, "rack-a3": 26, "ups-room": 22 },
      faults: { "rack-a2": { faultLamp: "red" }, "rack-a3": { temperature: 41.5 } },
    },
    plan: {
      version: "demo-1",
      checkpoints: [
        ...racks.map((id) => ({
          id,
          limits: { temperature: { max: 32 }, humidity: { min: 20, max: 70 }, smoke: { equals: false } },
          burst: 4,
          checks: rackChecks(id, 8),
        })),
        { id: "ups-room", limits: { temperature: { max: 28 }, waterLeak: { equals: false } } },
      ],
    },
  };
}

/** The robot as one more demo agent (it has no loan: lending is seeded before it joins). */
export function demoRobot(dir: string): DemoBarn {
  return {
    device: DEMO_ROBOT,
    name: "DC1 patrol robot",
    dataDir: join(dir, DEMO_ROBOT),
    configFile: join(dir, `${DEMO_ROBOT}.yaml`),
    head: 0,
    faces: false,
    anomalies: [],
    patrol: true,
  };
}

export function writeRobotConfig(
  b: DemoBarn,
  o: {
    mqttUrl: string;
    /** The robot's broker password (its user name is its device id). */
    mqttPassword?: string;
    cloudPublicKey: string;
    speed: number;
    start: string;
    origin: string;
  },
) {
  const cfg = {
    device: b.device,
    dataDir: b.dataDir,
    cloud: {
      mqtt: { url: o.mqttUrl, ...(o.mqttPassword ? { username: b.device, password: o.mqttPassword } : {}) },
      publicKey: o.cloudPublicKey,
    },
    // Away from the dock: alarms only, 64 KiB at most; the round uploads at the dock.
    sync: {
      linger: "200ms",
      ackTimeout: "10s",
      reconnectBase: "250ms",
      reconnectCap: "5s",
      reconnectOn: "dock",
      awayBudget: "64KiB",
    },
    clock: { synced: "always", speed: o.speed, start: o.start, origin: o.origin },
    sealInterval: "5s",
    http: { port: 0, host: "127.0.0.1" },
    sources: [demoPatrolSource()],
  };
  writeFileSync(b.configFile, `# written by barnlink demo\n${stringify(cfg)}`);
}
