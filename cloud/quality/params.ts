import { z } from "zod";
import { problemsFromZod } from "../../core/config.ts";
import { ERR_QUALITY_PARAMS } from "./errors.ts";

/** What a sensor can physically do and how it may behave; per stream, defaults below. */
const streamSpec = z.strictObject({
  /** Smallest change the sensor reports: "unchanged" means within this. */
  resolution: z.number().positive(),
  /** Physically possible range. */
  min: z.number(),
  max: z.number(),
  /** Largest possible change per hour in either direction (0 = unlimited). */
  maxRatePerHour: z.number().min(0),
  /** Largest possible fall per hour (0 = unlimited); rises are governed by maxRatePerHour. */
  maxFallPerHour: z.number().min(0).default(0),
  /** Unchanged for longer than this is a stuck sensor. */
  stuckHours: z.number().positive(),
  /** Noise σ above this is a noisy sensor. */
  noiseMax: z.number().positive(),
  /** Curvature noise σ below this on a moving series is implausibly smooth (0 disables). */
  smoothMin: z.number().min(0),
});
export type StreamSpec = z.output<typeof streamSpec>;

const DEFAULT_STREAMS: Record<string, StreamSpec> = {
  "env.temperature": {
    resolution: 0.1,
    min: -30,
    max: 55,
    maxRatePerHour: 8,
    maxFallPerHour: 0,
    stuckHours: 12,
    noiseMax: 1.5,
    smoothMin: 0.07,
  },
  "env.humidity": {
    resolution: 0.1,
    min: 0,
    max: 100,
    maxRatePerHour: 30,
    maxFallPerHour: 0,
    stuckHours: 12,
    noiseMax: 8,
    smoothMin: 0.1,
  },
  "env.ammonia": {
    resolution: 0.1,
    min: 0,
    max: 200,
    maxRatePerHour: 25,
    maxFallPerHour: 0,
    stuckHours: 24,
    noiseMax: 6,
    smoothMin: 0.07,
  },
  "silo.weight": {
    resolution: 0.1,
    min: 0,
    max: 200_000,
    maxRatePerHour: 0,
    maxFallPerHour: 0,
    stuckHours: 12,
    noiseMax: 10,
    smoothMin: 0,
  },
};

/**
 * Temperature vs humidity vs ammonia (checks/air-coherence.ts). Defaults suit a mechanically
 * ventilated pig or poultry barn; the species profile's `quality.air` and the facility's thresholds
 * override them (docs/evidence-quality.md).
 */
const airSpec = z.strictObject({
  /** A temperature fall of this much (°C) within an hour against the 3 h before is an airing. */
  airingDropC: z.number().positive().default(2.5),
  /** At an airing ammonia must fall by at least this many ppm and this share of its level. */
  ammoniaFallPpm: z.number().min(0).default(1.5),
  ammoniaFallShare: z.number().min(0).max(1).default(0.25),
  /** Airings with ammonia below this before them are not judged (dilution within sensor noise). */
  ammoniaMinPpm: z.number().min(0).default(5),
  /** Judged only on this many airings or more in the window. */
  minAirings: z.number().int().min(1).default(4),
  /** Ammonia that falls at fewer than this share of the airings is not measuring the barn's air. */
  responseMin: z.number().min(0).max(1).default(0.5),
  /** A change of absolute humidity by more than this share within an hour, temperature steady, is a jump. */
  ahJumpShare: z.number().positive().default(0.35),
  /** "Steady" temperature for an absolute-humidity jump: changed by less than this (°C). */
  steadyC: z.number().positive().default(1.5),
  /** Jumps needed, as a count and as a share of hourly pairs, before the humidity is unusable. */
  ahJumpMin: z.number().int().min(1).default(4),
  ahJumpRate: z.number().min(0).max(1).default(0.03),
});
export type AirSpec = z.output<typeof airSpec>;

export const qualityParamsSchema = z.strictObject({
  /** Per-stream overrides, merged over the defaults. */
  streams: z.record(z.string(), streamSpec.partial()).default({}),
  /** Days before the window also read, so a replay of an older window is seen. */
  lookbackDays: z.number().min(0).default(14),
  /** Readings in a compared window for replay detection (a day at the hourly rate). */
  replayReadings: z.number().int().min(4).default(12),
  /** Consecutive censuses compared for replay; the repeated ones must not all be equal. */
  replayCensuses: z.number().int().min(2).default(3),
  /** A gap longer than this many times a stream's usual interval (and ≥ dropoutMinHours) is a dropout. */
  dropoutFactor: z.number().min(1).default(3),
  dropoutMinHours: z.number().min(0).default(2),
  /** A census may exceed placed − deaths − sales by this share (counting error) before it is impossible. */
  censusSlack: z.number().min(0).default(0.01),
  /** Feed fall vs head × intake outside [low, high] is a cross-sensor inconsistency finding. */
  feedLow: z.number().min(0).default(0.8),
  feedHigh: z.number().min(0).default(1.25),
  /** A silo rise with no declared delivery within this many hours, or the reverse, is a finding. */
  deliveryMatchHours: z.number().min(0).default(6),
  /** Silo steps above this are deliveries, not noise (raised to 6σ for a noisy cell). */
  siloStepKg: z.number().min(0).default(25),
  /** Cross-sensor coherence of the barn's air (temperature, humidity, ammonia). */
  air: airSpec.default(airSpec.parse({})),
  /** Near-copy camera frames (perceptual hash, checks/near-frames.ts). */
  frames: z
    .strictObject({
      /** Perceptual hashes at most this many bits apart (of 64) are the same picture. */
      maxDistance: z.number().int().min(0).max(32).default(5),
      /**
       * Judged only where the camera's frames usually differ by this many bits or more (median to
       * its other frames): a still pen repeats itself honestly.
       */
      minSpread: z.number().int().min(0).max(64).default(12),
      /** A near-copy must be of a frame at least this many hours older (a still pen is not a replay). */
      minShiftHours: z.number().min(0).default(1),
      /** Near-copies count as one replay when their time shifts agree within this many minutes. */
      shiftToleranceMinutes: z.number().positive().default(30),
      /** Frames matched before the camera is judged replayed; the copied frames must show this many different scenes. */
      minMatches: z.number().int().min(1).default(10),
      minScenes: z.number().int().min(1).default(3),
    })
    .default({
      maxDistance: 5,
      minSpread: 12,
      minShiftHours: 1,
      shiftToleranceMinutes: 30,
      minMatches: 10,
      minScenes: 3,
    }),
});
export type QualityParams = z.output<typeof qualityParamsSchema> & {
  spec(stream: string): StreamSpec | undefined;
};

/**
 * The parameters of one facility's batch: the species profile's `quality` defaults under the
 * facility's thresholds `quality` (object-valued keys such as `air` merged one level deep).
 */
export function parseQualityParams(raw: unknown, profileDefaults?: Record<string, unknown>): QualityParams {
  const over = (raw ?? {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...profileDefaults, ...over };
  for (const k of ["air", "frames", "streams"])
    if (isObj(profileDefaults?.[k]) && isObj(over[k])) merged[k] = { ...profileDefaults[k], ...over[k] };
  const r = qualityParamsSchema.safeParse(merged);
  if (!r.success)
    throw ERR_QUALITY_PARAMS(
      `evidence-quality parameters: ${problemsFromZod(r.error)
        .map((x) => `quality.${x.path}: ${x.message}`)
        .join("; ")}`,
    );
  const p = r.data;
  return {
    ...p,
    spec(stream) {
      const base = DEFAULT_STREAMS[stream];
      const over = p.streams[stream];
      if (!base && !over) return undefined;
      return streamSpec.parse({ ...base, ...over });
    },
  };
}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
