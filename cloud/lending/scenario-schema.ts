import { z } from "zod";
import { thresholdsSchema } from "./thresholds.ts";

const STREAMS = ["env.temperature", "env.humidity", "env.ammonia", "silo.weight"] as const;
const stream = z.enum(STREAMS);

/** A scenario file (docs/scenarios/*.yaml): one batch replayed through simulated time. */
const event = z.discriminatedUnion("type", [
  /** Part of the herd dies or disappears at `day`. */
  z.strictObject({ type: z.literal("headDrop"), day: z.number(), share: z.number().min(0).max(1) }),
  /** The gateway's uplink is down: records are buffered and arrive when it returns. */
  z.strictObject({ type: z.literal("offline"), fromDay: z.number(), days: z.number().positive() }),
  /** An outage of `hours`: the evidence of those hours is delivered late, when the uplink returns. */
  z.strictObject({ type: z.literal("lateEvidence"), fromDay: z.number(), hours: z.number().positive() }),
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
  /** The sensor reports `value` (or the last value it read) whatever happens, from `fromDay`. */
  z.strictObject({
    type: z.literal("stuckSensor"),
    stream,
    fromDay: z.number(),
    days: z.number().positive().optional(),
    value: z.number().optional(),
  }),
  /** The sensor's values are generated, not measured: a smooth daily sine around the true mean. */
  z.strictObject({
    type: z.literal("generatedSensor"),
    stream,
    fromDay: z.number(),
    days: z.number().positive().optional(),
    amplitude: z.number().positive().default(2),
  }),
  /** The sensor adds uniform noise of ±`amplitude` (its unit) to what it reads. */
  z.strictObject({
    type: z.literal("noisySensor"),
    stream,
    fromDay: z.number().default(-1),
    days: z.number().positive().optional(),
    amplitude: z.number().positive(),
  }),
  /**
   * The sensor reports `value` ± uniform `amplitude`, ignoring the air it should measure (a fixed
   * value dressed with noise, another barn's sensor, a fabricated feed).
   */
  z.strictObject({
    type: z.literal("fakedSensor"),
    stream,
    fromDay: z.number(),
    days: z.number().positive().optional(),
    value: z.number(),
    amplitude: z.number().min(0),
  }),
  /** The sensor (or every sensor, without `stream`) sends nothing for `hours`. */
  z.strictObject({
    type: z.literal("dropout"),
    stream: stream.optional(),
    fromDay: z.number(),
    hours: z.number().positive(),
  }),
  /** For `days` from `fromDay` the gateway sends copies of what it sent from `sourceDay` on. */
  z.strictObject({
    type: z.literal("replay"),
    what: z.enum(["readings", "census", "sightings"]),
    stream: stream.optional(),
    fromDay: z.number(),
    days: z.number().positive(),
    sourceDay: z.number(),
    /** Sightings only: the copied frames are re-encoded (new SHA-256, perceptual hash a few bits off). */
    nearCopy: z.boolean().default(false),
  }),
  /** Censuses count `factor` × the live head from `fromDay`. */
  z.strictObject({
    type: z.literal("inflatedCensus"),
    fromDay: z.number(),
    days: z.number().positive().optional(),
    factor: z.number().positive(),
  }),
  /** The gateway reboots at `fromDay` with its clock in `year` until it syncs `hours` later. */
  z.strictObject({
    type: z.literal("clockStale"),
    fromDay: z.number(),
    hours: z.number().positive(),
    year: z.number().int().default(2020),
  }),
  /** The supplier delivers only `share` of the kg paid (declaring the full amount) for tranches ≥ `fromTranche`. */
  z.strictObject({
    type: z.literal("supplierShort"),
    fromTranche: z.number().int().min(0),
    toTranche: z.number().int().min(0).optional(),
    share: z.number().min(0).max(1),
  }),
  /** The supplier delivers nothing for tranche `tranche`. */
  z.strictObject({ type: z.literal("supplierMissing"), tranche: z.number().int().min(0) }),
  /** `head` animals are sold on `day`, recorded as a herd event. */
  z.strictObject({ type: z.literal("sale"), day: z.number(), head: z.number().int().positive() }),
]);
export type ScenarioEvent = z.output<typeof event>;

const OUTCOME = /^(release|reduced|hold)(>(release|reduced|hold))*$/;

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
  /** Sensor noise (± uniform, in each stream's unit). */
  noise: z
    .strictObject({
      temperature: z.number().min(0).default(1),
      humidity: z.number().min(0).default(5),
      ammonia: z.number().min(0).default(3),
      siloKg: z.number().min(0).default(2),
    })
    .default({ temperature: 1, humidity: 5, ammonia: 3, siloKg: 2 }),
  /**
   * The barn's air as one body (without it each sensor reads its stream's mean plus noise): the
   * barn is aired `airingsPerDay` times (temperature falls `dropC` for an hour and recovers), the
   * water in the air (absolute humidity, from `humidity` % RH at the band's middle) and ammonia
   * (building up towards `ammoniaPpm`) fall with each airing by `waterFall` and `ammoniaFall`.
   */
  air: z
    .strictObject({
      airingsPerDay: z.number().int().min(0).max(6).default(2),
      dropC: z.number().min(0).default(3.5),
      humidity: z.number().min(1).max(100).default(62),
      waterFall: z.number().min(0).max(1).default(0.12),
      ammoniaPpm: z.number().min(0).default(12),
      ammoniaFall: z.number().min(0).max(1).default(0.45),
    })
    .optional(),
  /** The facility's gate thresholds (defaults otherwise; see docs/lending.md). */
  thresholds: thresholdsSchema.partial().default({}),
  /** Face sightings at the feeder this many per hour (frame SHA-256 and perceptual hash). */
  sightingsPerHour: z.number().int().min(0).default(0),
  /** Hours from a release to the supplier's delivery. */
  deliveryDelayHours: z.number().min(0).default(6),
  events: z.array(event).default([]),
  /**
   * The outcome expected for each tranche, in order (the scenario's test asserts it); a tranche
   * decided more than once (held, then re-evaluated on late evidence) lists each: "hold>release".
   */
  expect: z.array(z.string().regex(OUTCOME)).optional(),
  /** Words each non-release decision's reasons must contain, per tranche seq (checked by the test). */
  expectReasons: z.record(z.string(), z.string()).optional(),
  /** Evidence-quality checks that must report a finding during the run. */
  expectFindings: z.array(z.string()).optional(),
});
export type Scenario = z.output<typeof scenarioSchema>;
