import type { RegisterInput } from "../modbus/config.ts";

/**
 * Register maps of common barn sensor types. EXAMPLES TO ADAPT: vendors of the "same" transmitter
 * move registers and scales between models and firmware; check the device's manual (and read it
 * once with `barnlink drivers probe`) before trusting a preset. Addresses are zero-based protocol
 * addresses (a manual's 30002 is input register 1).
 */
export interface Preset {
  description: string;
  /** Serial settings the devices usually ship with. */
  serial: { baudRate: number; parity: "none" | "even" | "odd" };
  registers: RegisterInput[];
}

export const presets: Record<string, Preset> = {
  "th-transmitter": {
    description:
      "RS-485 temperature/humidity transmitter (SHT20 class, e.g. XY-MD02): input registers 1-2, x0.1",
    serial: { baudRate: 9600, parity: "none" },
    registers: [
      { sensor: "env.temperature", table: "input", address: 1, type: "int16", scale: 0.1, unit: "°C" },
      { sensor: "env.humidity", table: "input", address: 2, type: "uint16", scale: 0.1, unit: "%RH" },
    ],
  },
  "ammonia-sensor": {
    description: "RS-485 ammonia (NH3) transmitter, electrochemical 0-100 ppm: holding register 0, x0.1 ppm",
    serial: { baudRate: 9600, parity: "none" },
    registers: [{ sensor: "air.nh3", table: "holding", address: 0, type: "uint16", scale: 0.1, unit: "ppm" }],
  },
  "loadcell-transmitter": {
    description:
      "RS-485 load-cell weighing transmitter under a feed silo: float32 kg at holding 0-1, status at 2",
    serial: { baudRate: 9600, parity: "none" },
    registers: [
      { sensor: "silo.weight", table: "holding", address: 0, type: "float32", wordOrder: "big", unit: "kg" },
      { sensor: "silo.status", table: "holding", address: 2, type: "uint16", unit: "" },
    ],
  },
};

export function presetNames(): string[] {
  return Object.keys(presets);
}
