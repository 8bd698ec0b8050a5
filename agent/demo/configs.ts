import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeRobotConfig } from "./patrol.ts";

export interface DemoBarn {
  device: string;
  name: string;
  dataDir: string;
  configFile: string;
  /** Head placed: barn-2 is a smallholder's pen of 12, counted by pig faces rather than a census sensor. */
  head: number;
  faces: boolean;
  anomalies: Array<{
    kind: "heat-wave" | "head-drop" | "feed-diversion";
    fromDay: number;
    toDay?: number;
    size: number;
  }>;
  extraSources?: unknown[];
  /** Extra agent `http` settings (the gateway page listens on a free loopback port in the demo). */
  http?: Record<string, unknown>;
  /** Not a barn: the data-centre patrol robot (agent/demo/patrol.ts). */
  patrol?: boolean;
}

/** The demo's barns: two healthy ones and one hit by a heat wave from day 0.5 (its next tranche is held). */
export function demoBarns(dir: string, n: number): DemoBarn[] {
  return Array.from({ length: n }, (_, i) => {
    const device = `barn-${i + 1}`;
    return {
      device,
      name:
        ["Hillside co-op, barn 1", "Hillside co-op, barn 2", "River farm, barn A"][i] ?? `Demo barn ${i + 1}`,
      dataDir: join(dir, device),
      configFile: join(dir, `${device}.yaml`),
      head: i === 1 ? 12 : 500,
      faces: i === 1,
      anomalies: i === 2 ? [{ kind: "heat-wave", fromDay: 0.2, toDay: 1.5, size: 11 }] : [],
    };
  });
}

export function writeAgentConfig(
  b: DemoBarn,
  o: {
    mqttUrl: string;
    /** The barn's broker password (its user name is its device id). */
    mqttPassword?: string;
    cloudPublicKey: string;
    speed: number;
    start: string;
    origin: string;
    placedAt: string;
    seed: number;
  },
) {
  if (b.patrol) return writeRobotConfig(b, o);
  const cfg = {
    device: b.device,
    dataDir: b.dataDir,
    cloud: {
      mqtt: { url: o.mqttUrl, ...(o.mqttPassword ? { username: b.device, password: o.mqttPassword } : {}) },
      publicKey: o.cloudPublicKey,
    },
    sync: { linger: "200ms", ackTimeout: "10s", reconnectBase: "250ms", reconnectCap: "5s" },
    clock: { synced: "always", speed: o.speed, start: o.start, origin: o.origin },
    sealInterval: "5s",
    http: { port: 0, host: "127.0.0.1", ...b.http },
    sources: [
      {
        driver: "sim-barn",
        name: "barn",
        barn: b.device,
        headPlaced: b.head,
        // A barn counted by faces needs no census sensor.
        census: !b.faces,
        placedAt: o.placedAt,
        startAt: o.start,
        interval: "5m",
        tick: "250ms",
        deliveries: { every: "1d", phase: 0.25 },
        seed: o.seed,
        anomalies: b.anomalies,
      },
      ...(b.faces
        ? [
            {
              driver: "faces",
              name: "faces",
              camera: "feeder",
              barn: b.device,
              rois: [{ left: 96, top: 40, width: 128, height: 128 }],
              gallery: `${b.dataDir}/faces.db`,
              model: `${b.dataDir}/models`,
              censusWindow: "12h",
              unseenDays: 3,
              // Simulated: a synthetic herd at the feeder (no camera here); short visits, frames often
              // enough to see every pig within a barn-day of the fast clock.
              synthetic: { pigs: b.head, strangers: 0, strangerRate: 0, visitFrames: 1, interval: "50ms" },
            },
          ]
        : []),
      ...(b.extraSources ?? []),
    ],
  };
  writeFileSync(b.configFile, `# written by barnlink demo\n${stringify(cfg)}`);
}
