import { z } from "zod";
import { duration, ident } from "../../core/zod-helpers.ts";

const field = z.strictObject({
  /** The key in the device's line ("t" in `t=21.5`). */
  key: z.string().min(1),
  sensor: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '.', '_' or '-'"),
  unit: z.string().max(16).default(""),
  scale: z.number().default(1),
  offset: z.number().default(0),
});

export const lineConfigSchema = z.strictObject({
  driver: z.literal("line"),
  name: ident(),
  /** Serial device; prefer /dev/serial/by-id/… so a re-plugged Arduino keeps its name. */
  port: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  format: z.enum(["auto", "json", "kv"]).default("auto"),
  /** Keys to read; without any, every numeric key becomes stream `prefix + key`. */
  fields: z.array(field).default([]),
  prefix: z.string().max(32).default(""),
  /** No valid line for this long raises line.offline (unplugged, crashed or mis-wired sensor). */
  staleAfter: duration().default(60_000),
  /** Emit at most one reading per stream per interval (a scale printing 10 lines/s). 0 = every line. */
  minInterval: duration().default(0),
  reconnectMin: duration().default(500),
  reconnectMax: duration().default(30_000),
});
export type LineConfig = z.output<typeof lineConfigSchema>;
