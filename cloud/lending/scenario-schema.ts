import { z } from "zod";

/** A scenario file (docs/scenarios/*.yaml): one batch replayed through simulated time. */
const event = z.discriminatedUnion("type", [
  /** Part of the herd dies or disappears at `day`. */
  z.strictObject({ type: z.literal("headDrop"), day: z.number(), share: z.number().min(0).max(1) }),
  /** The gateway's uplink is down: records are buffered and arrive when it returns. */
  z.strictObject({ type: z.literal("offline"), fromDay: z.number(), days: z.number().positive() }),
  /** Barn temperature runs `addC` above the band's middle. */
  z.strictObject({
    type: z.literal("heatWave"),
    fromDay: z.number(),
    days: z.number().positive(),
    addC: z.number(),
  }),
  /** From `fromDay` only `eatenShare` of the feed the herd needs leaves the silo. */
  z.strictObject({
    type: z.literal("feedDiverted"),
    fromDay: z.number(),
    eatenShare: z.number().min(0).max(2),
  }),
]);
export type ScenarioEvent = z.output<typeof event>;

export const scenarioSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  species: z.enum(["broiler", "finishing-pig"]),
  head: z.number().int().positive(),
  start: z.iso.date(),
  days: z.number().int().positive().optional(),
  annualRate: z.string().default("10%"),
  feedPriceFenPerKg: z.number().int().positive(),
  livePriceFenPerKg: z.number().int().positive(),
  limitFen: z.number().int().positive().default(2_000_000_000),
  seed: z.number().int().default(1),
  events: z.array(event).default([]),
  /** The outcome expected for each tranche, in order (the scenario's test asserts it). */
  expect: z.array(z.enum(["release", "reduced", "hold"])).optional(),
});
export type Scenario = z.output<typeof scenarioSchema>;
