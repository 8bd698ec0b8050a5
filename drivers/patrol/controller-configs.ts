import { z } from "zod";

// The controllers' config schemas, apart from their implementations: the driver registry lists
// every driver's schema, and must not load ws, sharp or qrcode on a gateway that has no patrol source.
export const mqttControllerConfig = z.strictObject({
  transport: z.literal("mqtt"),
  /** The robot's own broker (often on the robot itself), e.g. mqtt://192.168.8.1:1883. */
  url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, "an mqtt:// or ws:// URL"),
  /** Topic prefix: the robot publishes {prefix}/checkpoint, /dock, /battery, /pose; the agent publishes {prefix}/mission. */
  prefix: z.string().min(1).max(128).default("robot"),
  username: z.string().optional(),
  password: z.string().optional(),
});

export const rosbridgeControllerConfig = z.strictObject({
  transport: z.literal("rosbridge"),
  /** rosbridge_server's WebSocket, e.g. ws://robot.local:9090. */
  url: z.string().regex(/^wss?:\/\//, "a ws:// or wss:// URL"),
  topics: z
    .strictObject({
      /** std_msgs/msg/String carrying the same JSON as the MQTT transport's checkpoint topic. */
      checkpoint: z.string().default("/patrol/checkpoint"),
      /** std_msgs/msg/Bool: true when docked. */
      dock: z.string().default("/dock/status"),
      /** sensor_msgs/msg/BatteryState (percentage 0..1). */
      battery: z.string().default("/battery_state"),
      /** geometry_msgs/msg/PoseWithCovarianceStamped (e.g. amcl). */
      pose: z.string().default("/amcl_pose"),
      /** std_msgs/msg/String the agent publishes the mission on (JSON). */
      mission: z.string().default("/patrol/mission"),
    })
    .prefault({}),
  /** Limit pose messages to one per this many ms (rosbridge's throttle_rate). */
  poseThrottle: z.number().int().min(0).default(1000),
});

const fault = z.strictObject({
  /** Air temperature here instead of the normal one (an overheating rack). */
  temperature: z.number().optional(),
  faultLamp: z.enum(["red", "amber"]).optional(),
  faultBlinking: z.boolean().optional(),
  breaker: z.enum(["on", "off"]).optional(),
  loadKw: z.number().optional(),
  /** The QR label the camera sees (a robot at the wrong rack). */
  label: z.string().optional(),
});

export const simControllerConfig = z.strictObject({
  transport: z.literal("sim"),
  /** Real milliseconds between checkpoints (independent of the demo's fast clock: camera bursts take real time). */
  interval: z.number().int().min(50).default(3000),
  /** Real milliseconds docked between rounds. */
  dockTime: z.number().int().min(50).default(15_000),
  /** Normal air temperature per checkpoint (°C); 24 elsewhere. */
  temperatures: z.record(z.string(), z.number()).default({}),
  /** Planted faults by checkpoint id. */
  faults: z.record(z.string(), fault).default({}),
  /** Checkpoints the robot cannot reach (reported as skipped with this reason). */
  blocked: z.record(z.string(), z.string()).default({}),
  /** Frames per second of the simulated panel camera while stopped at a checkpoint. */
  fps: z.number().min(1).max(30).default(5),
});
