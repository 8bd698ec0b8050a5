import { z } from "zod";
import { ERR_ROBOT_MESSAGE } from "./errors.ts";
import type { PatrolPlan } from "./plan.ts";

/**
 * What a robot controller tells the patrol source, whatever the transport: checkpoint arrival and
 * departure (arrival carries the robot's own environment sensors), a checkpoint it could not reach,
 * docking, battery and pose. Transports (MQTT JSON topics, rosbridge, the simulator) map their
 * messages onto these and nothing else.
 */
export const robotEvent = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("arrived"),
    checkpoint: z.string().min(1).max(64),
    env: z
      .record(z.string(), z.union([z.number().refine(Number.isFinite, "finite"), z.boolean()]))
      .default({}),
  }),
  z.strictObject({ type: z.literal("departed"), checkpoint: z.string().min(1).max(64) }),
  z.strictObject({
    type: z.literal("skipped"),
    checkpoint: z.string().min(1).max(64),
    reason: z.string().max(256),
  }),
  z.strictObject({ type: z.literal("docked") }),
  z.strictObject({ type: z.literal("undocked") }),
  z.strictObject({ type: z.literal("battery"), percent: z.number().min(0).max(100) }),
  z.strictObject({
    type: z.literal("pose"),
    x: z.number().refine(Number.isFinite),
    y: z.number().refine(Number.isFinite),
    theta: z.number().refine(Number.isFinite),
  }),
]);
export type RobotEvent = z.output<typeof robotEvent>;

export interface ControllerHandlers {
  event(e: RobotEvent): void;
  /** Connection to the controller came or went (an alarm while it is gone). */
  connection(up: boolean, why?: string): void;
  /** A message that did not parse: counted and logged, never fatal. */
  bad(err: Error): void;
}

/** One robot controller behind a transport. */
export interface RobotController {
  readonly transport: string;
  start(h: ControllerHandlers): Promise<void>;
  /** Sends the mission (the ordered checkpoint ids and the plan version) to the robot. */
  sendMission(plan: PatrolPlan): Promise<void>;
  stop(): Promise<void>;
}

/** Validates one decoded message as a RobotEvent; a coded error says what is wrong. */
export function parseRobotEvent(v: unknown, where: string): RobotEvent {
  const r = robotEvent.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw ERR_ROBOT_MESSAGE(`${where}: ${i.path.join(".") || "(root)"}: ${i.message}`);
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw ERR_ROBOT_MESSAGE(`${where}: not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** What a mission message carries, on every transport. */
export function missionMessage(plan: PatrolPlan) {
  return { plan: plan.version, checkpoints: plan.checkpoints.map((c) => c.id) };
}
