import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { ERR_PATROL_PLAN } from "./errors.ts";

/** [left, top, width, height] in pixels of the camera frame. */
export const region = z
  .array(z.number().int().nonnegative())
  .length(4)
  .refine((r) => r[2]! > 0 && r[3]! > 0, "width and height must be > 0");
export type Region = [number, number, number, number];

const lampColour = z.enum(["off", "green", "amber", "red"]);
export type LampColour = z.output<typeof lampColour>;

/** One thing the camera checks at a checkpoint; `expect` is what a healthy machine room shows. */
export const cameraCheck = z.discriminatedUnion("type", [
  z.strictObject({
    id: ident(),
    type: z.literal("lamp"),
    region,
    expect: z.strictObject({ colour: lampColour, blinking: z.boolean().default(false) }),
  }),
  z.strictObject({
    id: ident(),
    type: z.literal("switch"),
    region,
    /** Which way the lever points when the breaker is ON, and the state expected. */
    onIs: z.enum(["up", "down", "left", "right"]).default("up"),
    expect: z.enum(["on", "off"]),
  }),
  z.strictObject({
    id: ident(),
    type: z.literal("meter"),
    region,
    /** Seven-segment digits in the region, left to right (decimal point given by `decimals`). */
    digits: z.number().int().min(1).max(8),
    decimals: z.number().int().min(0).max(7).default(0),
    expect: z.strictObject({ min: z.number().optional(), max: z.number().optional() }),
  }),
  z.strictObject({
    id: ident(),
    type: z.literal("label"),
    region,
    /** The text the rack's QR label must carry (confirms the robot is at the right rack). */
    expect: z.string().min(1).max(256),
  }),
]);
export type CameraCheck = z.output<typeof cameraCheck>;

const limit = z.union([
  z.strictObject({ min: z.number().optional(), max: z.number().optional() }),
  /** A boolean sensor (smoke, water leak): the healthy value. */
  z.strictObject({ equals: z.boolean() }),
]);
export type Limit = z.output<typeof limit>;

export const checkpointPlan = z.strictObject({
  id: ident(),
  /** Environment limits by reading name (temperature, humidity, smoke, waterLeak, noiseDb, …). */
  limits: z.record(z.string(), limit).default({}),
  /** The camera (a camera source's name) the checks read; the patrol source's `camera` by default. */
  camera: z.string().optional(),
  /** Frames grabbed on arrival: more than 1 tells a blinking lamp from a steady one. */
  burst: z.number().int().min(1).max(30).default(1),
  checks: z.array(cameraCheck).max(32).default([]),
});
export type CheckpointPlan = z.output<typeof checkpointPlan>;

/** A mission: the checkpoints of a round in order, with a version the agent reports in every record. */
export const patrolPlan = z
  .strictObject({ version: z.string().min(1).max(64), checkpoints: z.array(checkpointPlan).min(1).max(500) })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of p.checkpoints.entries()) {
      if (seen.has(c.id))
        ctx.addIssue({
          code: "custom",
          path: ["checkpoints", i, "id"],
          message: `duplicate checkpoint ${c.id}`,
        });
      seen.add(c.id);
      const ids = new Set<string>();
      for (const [j, k] of c.checks.entries()) {
        if (ids.has(k.id))
          ctx.addIssue({
            code: "custom",
            path: ["checkpoints", i, "checks", j, "id"],
            message: `duplicate check ${k.id}`,
          });
        ids.add(k.id);
      }
    }
  });
export type PatrolPlan = z.output<typeof patrolPlan>;

/** Validates a plan from config or a cloud command; a coded error names the first wrong field. */
export function parsePlan(v: unknown): PatrolPlan {
  const r = patrolPlan.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw ERR_PATROL_PLAN(`patrol plan ${i.path.join(".") || "(root)"}: ${i.message}`);
}
