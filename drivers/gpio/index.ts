import type { DriverDef } from "../types.ts";
import { gpioConfigSchema } from "./config.ts";
import { GpioSource } from "./source.ts";

export const gpioDriver: DriverDef<typeof gpioConfigSchema> = {
  name: "gpio",
  description:
    "Dry contacts (door, water leak, tamper, dock) and relays/LEDs on Raspberry Pi GPIO, by BCM number",
  configSchema: gpioConfigSchema,
  create: (config, deps) => new GpioSource(config, deps?.gpio),
};
