import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";
import { gpioConfigSchema } from "./config.ts";

export const gpioDriver: DriverDef<typeof gpioConfigSchema> = {
  name: "gpio",
  description:
    "Dry contacts (door, water leak, tamper, dock) and relays/LEDs on Raspberry Pi GPIO, by BCM number",
  configSchema: gpioConfigSchema,
  // onoff, the gpiod tools' child processes and readline load only where a gpio source is configured.
  create: (config, deps) =>
    new LazySource(config.name, async () => new (await import("./source.ts")).GpioSource(config, deps?.gpio)),
};
