import type { DriverDef } from "../types.ts";
import { modbusSourceSchema } from "./config.ts";
import { ModbusSource } from "./source.ts";

export const modbusDriver: DriverDef<typeof modbusSourceSchema> = {
  name: "modbus",
  description:
    "Modbus RTU (RS-485 serial) and Modbus TCP devices: register maps, presets, per-device polling",
  configSchema: modbusSourceSchema,
  create: (config) => new ModbusSource(config),
};
