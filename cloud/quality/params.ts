import { z } from "zod";

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
});
export type QualityParams = z.output<typeof qualityParamsSchema> & {
  spec(stream: string): StreamSpec | undefined;
};

export function parseQualityParams(raw: unknown): QualityParams {
  const p = qualityParamsSchema.parse(raw ?? {});
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
