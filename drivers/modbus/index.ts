import { LazySource } from "../common/lazy-source.ts";
import type { DriverDef } from "../types.ts";
import { modbusSourceSchema } from "./config.ts";

export const modbusDriver: DriverDef<typeof modbusSourceSchema> = {
  name: "modbus",
  description:
    "Modbus RTU (RS-485 serial) and Modbus TCP devices: register maps, presets, per-device polling",
  configSchema: modbusSourceSchema,
  // modbus-serial and serialport load only where a modbus source is configured.
  create: (config) =>
    new LazySource(config.name, async () => new (await import("./source.ts")).ModbusSource(config)),
};
