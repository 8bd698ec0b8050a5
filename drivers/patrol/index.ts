import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";
import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";
import {
  mqttControllerConfig,
  rosbridgeControllerConfig,
  simControllerConfig,
} from "./controller-configs.ts";
import { patrolPlan } from "./plan.ts";

export const patrolConfig = z.strictObject({
  driver: z.literal("patrol"),
  name: ident(),
  controller: z.discriminatedUnion("transport", [
    mqttControllerConfig,
    rosbridgeControllerConfig,
    simControllerConfig,
  ]),
  /** The mission; a plan pushed from the cloud (`patrol.plan`) replaces it and is kept in `planFile`. */
  plan: patrolPlan.optional(),
  planFile: z.string().optional(),
  /** Camera source whose frames the checks read (per checkpoint `camera` overrides); the simulator brings its own. */
  camera: z.string().optional(),
  /** How long to wait for a checkpoint's burst of frames. */
  burstTimeout: duration().default(5000),
  /** Input name of the dock events (set the agent's `sync.reconnectOn` to it). */
  dockInput: z.string().max(64).default("dock"),
});

export const patrolDriver: DriverDef<typeof patrolConfig> = {
  name: "patrol",
  description:
    "Patrol robot: missions to and checkpoint arrivals from its controller (MQTT JSON, ROS 2 rosbridge, or simulated), camera equipment checks, inspection records",
  configSchema: patrolConfig,
  needsJit: true,
  create: (c, deps) =>
    new LazySource(c.name, async () => new (await import("./source.ts")).PatrolSource(c, deps?.cameras)),
};
