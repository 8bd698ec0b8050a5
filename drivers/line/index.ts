import type { DriverDef } from "../types.ts";
import { lineConfigSchema } from "./config.ts";
import { LineSource } from "./source.ts";

export const lineDriver: DriverDef<typeof lineConfigSchema> = {
  name: "line",
  description: "Serial devices that print JSON or key=value lines (an Arduino, a weigh scale)",
  configSchema: lineConfigSchema,
  create: (config) => new LineSource(config),
};
