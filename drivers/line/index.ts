import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";
import { lineConfigSchema } from "./config.ts";

export const lineDriver: DriverDef<typeof lineConfigSchema> = {
  name: "line",
  description: "Serial devices that print JSON or key=value lines (an Arduino, a weigh scale)",
  configSchema: lineConfigSchema,
  // serialport loads only where a line source is configured.
  create: (config) =>
    new LazySource(config.name, async () => new (await import("./source.ts")).LineSource(config)),
};
