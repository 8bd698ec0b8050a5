import { z } from "zod";
import { cameraDriver } from "./camera/index.ts";
import { ERR_DRIVER_UNKNOWN } from "./errors.ts";
import { facesDriver } from "./faces/index.ts";
import { gpioDriver } from "./gpio/index.ts";
import { lineDriver } from "./line/index.ts";
import { modbusDriver } from "./modbus/index.ts";
import { patrolDriver } from "./patrol/index.ts";
import { simBarnDriver } from "./sim-barn/index.ts";
import { simCameraDriver } from "./sim-camera/index.ts";
import { simLoadDriver } from "./sim-load/index.ts";
import { simPatrolDriver } from "./sim-patrol/index.ts";
import type { DriverDef } from "./types.ts";

/**
 * Every driver, by name (after Telegraf's inputs registry). Adding a driver is one line here plus
 * its folder (driver, README.md, sample.yaml, tests); drivers/meta.test.ts checks the folder.
 */
export const drivers: DriverDef[] = [
  simBarnDriver as DriverDef,
  modbusDriver as DriverDef,
  lineDriver as DriverDef,
  gpioDriver as DriverDef,
  cameraDriver as DriverDef,
  simCameraDriver as DriverDef,
  facesDriver as DriverDef,
  simLoadDriver as DriverDef,
  simPatrolDriver as DriverDef,
  patrolDriver as DriverDef,
];

export function driverByName(name: string): DriverDef | undefined {
  return drivers.find((d) => d.name === name);
}

/** Like driverByName, but an unknown name is a coded error that lists the drivers there are. */
export function requireDriver(name: string): DriverDef {
  const d = driverByName(name);
  if (!d)
    throw ERR_DRIVER_UNKNOWN(
      `unknown driver ${JSON.stringify(name)}; known drivers: ${driverNames().join(", ")}`,
    );
  return d;
}

export function driverNames(): string[] {
  return drivers.map((d) => d.name);
}

/** One validated entry of `sources:`; pass it to `driverByName(c.driver).create(c, deps)`. */
export type SourceConfig = { driver: string; name: string } & Record<string, unknown>;

/** The schema of one `sources[]` entry: a union over drivers, keyed by `driver:`. */
export function sourceConfigSchema(): z.ZodType<SourceConfig> {
  const schemas = drivers.map((d) => d.configSchema) as unknown as [z.ZodObject, ...z.ZodObject[]];
  const union = schemas.length === 1 ? schemas[0] : z.discriminatedUnion("driver", schemas);
  const known = driverNames();
  // A friendlier message than zod's for the commonest mistake: an unknown or missing driver name.
  // A failed refine stops the pipe, so the union's own (less helpful) issue is not added.
  return z
    .unknown()
    .superRefine((v, ctx) => {
      const name = (v as { driver?: unknown } | null)?.driver;
      if (typeof name !== "string" || !known.includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["driver"],
          message: `unknown driver ${JSON.stringify(name ?? null)}; known drivers: ${known.join(", ")}`,
        });
      }
    })
    .pipe(union as unknown as z.ZodType<SourceConfig>);
}
