import { z } from "zod";
import { simBarnDriver } from "./sim-barn/index.ts";
import type { DriverDef } from "./types.ts";

/**
 * Every driver, by name (after Telegraf's inputs registry). Adding a driver is one line here plus
 * its folder (driver, README.md, sample.yaml, tests).
 */
export const drivers: DriverDef[] = [
  simBarnDriver as DriverDef,
  // Drivers for real hardware are added below by their folders.
];

export function driverByName(name: string): DriverDef | undefined {
  return drivers.find((d) => d.name === name);
}

/** The schema of one `sources[]` entry: a union over drivers, keyed by `driver:`. */
export function sourceConfigSchema() {
  const schemas = drivers.map((d) => d.configSchema) as unknown as [z.ZodObject, ...z.ZodObject[]];
  const union = schemas.length === 1 ? schemas[0] : z.discriminatedUnion("driver", schemas);
  const known = drivers.map((d) => d.name);
  // A friendlier message than zod's for the commonest mistake: an unknown or missing driver name.
  return z.unknown().superRefine((v, ctx) => {
    const name = (v as { driver?: unknown } | null)?.driver;
    if (typeof name !== "string" || !known.includes(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["driver"],
        message: `unknown driver ${JSON.stringify(name ?? null)}; known drivers: ${known.join(", ")}`,
      });
    }
  }).pipe(union as unknown as z.ZodType<{ driver: string; name: string } & Record<string, unknown>>);
}
