import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { problemsFromZod } from "../../core/config.ts";
import { fromRoot } from "../../core/paths.ts";
import { parseQualityParams } from "../quality/params.ts";
import { ERR_LENDING_PROFILE } from "./errors.ts";

const point = z.tuple([z.number().nonnegative(), z.number()]);
const band = z.tuple([z.number().nonnegative(), z.number(), z.number()]);
const curve = z.array(point).min(1);

export const profileSchema = z.strictObject({
  species: z.string().min(1),
  name: z.string(),
  cycleDays: z.number().int().positive(),
  sources: z.array(z.string()).min(1),
  feedIntakeKg: curve,
  weightKg: curve,
  mortality: curve,
  env: z.record(
    z.enum(["temperature", "humidity", "ammonia"]),
    z.strictObject({ unit: z.string(), bands: z.array(band).min(1) }),
  ),
  /** Evidence-quality defaults for the species (cloud/quality/params.ts), under the facility's own. */
  quality: z.record(z.string(), z.unknown()).optional(),
});
export type SpeciesProfile = z.output<typeof profileSchema>;

/** The streams the environment gate reads, by profile key. */
export const ENV_STREAMS = {
  temperature: "env.temperature",
  humidity: "env.humidity",
  ammonia: "env.ammonia",
} as const;

const dir = fromRoot("cloud/lending/profiles");
const cache = new Map<string, SpeciesProfile>();

/** Loads `profiles/<species>.yaml`; species profiles are data so agronomists can change them without code. */
export function loadProfile(species: string): SpeciesProfile {
  const hit = cache.get(species);
  if (hit) return hit;
  if (!/^[a-z0-9-]+$/.test(species)) throw ERR_LENDING_PROFILE(`unknown species '${species}'`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(join(dir, `${species}.yaml`), "utf8"));
  } catch (e) {
    throw ERR_LENDING_PROFILE(`no species profile '${species}': ${(e as Error).message}`);
  }
  const r = profileSchema.safeParse(raw);
  if (!r.success) {
    const p = problemsFromZod(r.error).map((x) => `${x.path}: ${x.message}`);
    throw ERR_LENDING_PROFILE(`species profile '${species}' is invalid: ${p.join("; ")}`);
  }
  // Its evidence-quality defaults must parse too (BL_QUALITY_PARAMS), before any decision reads them.
  parseQualityParams({}, r.data.quality);
  cache.set(species, r.data);
  return r.data;
}

/** Linear interpolation on a [day, value] curve, flat beyond its ends. */
export function at(points: ReadonlyArray<readonly [number, number]>, day: number): number {
  const first = points[0]!;
  if (day <= first[0]) return first[1];
  for (let i = 1; i < points.length; i++) {
    const [d1, v1] = points[i]!;
    const [d0, v0] = points[i - 1]!;
    if (day <= d1) return v0 + ((v1 - v0) * (day - d0)) / (d1 - d0);
  }
  return points[points.length - 1]![1];
}

/** The environment band [min, max] at an age, each bound interpolated. */
export function bandAt(
  bands: ReadonlyArray<readonly [number, number, number]>,
  day: number,
): [number, number] {
  return [
    at(
      bands.map((b) => [b[0], b[1]] as const),
      day,
    ),
    at(
      bands.map((b) => [b[0], b[2]] as const),
      day,
    ),
  ];
}

/** Share of placed animals expected alive at an age. */
export function survival(p: SpeciesProfile, day: number): number {
  return 1 - at(p.mortality, day);
}

/** Feed (kg per head) eaten over whole days [fromDay, toDay): intake sampled at each day's midpoint. */
export function intakePerHead(p: SpeciesProfile, fromDay: number, toDay: number): number {
  let kg = 0;
  for (let d = fromDay; d < toDay; d++) kg += at(p.feedIntakeKg, d + 0.5);
  return kg;
}
