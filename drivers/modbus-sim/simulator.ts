import { ERR_CONFIG_INVALID } from "../../core/errors.ts";
import { openPtyPair, type PtyPair } from "../common/pty-pair.ts";
import { encodeWords } from "../modbus/codec.ts";
import { registerSchema } from "../modbus/config.ts";
import { presets } from "../presets/index.ts";
import { type BarnValues, type BarnValuesAt, barnModelValues } from "./barn-values.ts";
import { type SlaveProcess, type SlaveTable, startSlaveProcess } from "./slave-process.ts";

export interface ModbusBarnSimulatorOptions {
  /** RTU: the path the driver opens; a socat pty pair links it to `<ptyPath>.slave`. */
  ptyPath?: string;
  /** TCP instead: the port the simulated devices listen on (127.0.0.1). */
  port?: number;
  /** Unit ids of the three transmitters. */
  units?: { climate: number; ammonia: number; silo: number };
  values?: BarnValuesAt;
  /** Wall time the values are taken at (the demo's fast clock); default Date.now. */
  now?: () => number;
  updateEvery?: number;
}

export interface ModbusBarnSimulator {
  /** Where the driver connects: the pty path, or the TCP port. */
  path?: string;
  port?: number;
  /** A modbus source config (input form) that reads this simulator with the presets. */
  sourceConfig(name?: string, interval?: string): Record<string, unknown>;
  /** The pymodbus slave, for fault injection (silent units, bad CRCs). */
  slave: SlaveProcess;
  stop(): Promise<void>;
}

/** Which preset each unit imitates, and which barn value feeds which of its sensors. */
const DEVICES = [
  { key: "climate", preset: "th-transmitter" },
  { key: "ammonia", preset: "ammonia-sensor" },
  { key: "silo", preset: "loadcell-transmitter" },
] as const;
const FEEDS: Record<string, (v: BarnValues) => number> = {
  "env.temperature": (v) => v.temperature,
  "env.humidity": (v) => v.humidity,
  "air.nh3": (v) => v.ammonia,
  "silo.weight": (v) => v.siloKg,
  "silo.status": () => 0,
};
const TABLE: Record<string, SlaveTable> = { holding: "hr", input: "ir", coil: "co", discrete: "di" };

/**
 * A barn on a Modbus bus: three transmitters (climate, ammonia, silo load cell) in a pymodbus
 * slave, their registers laid out as in drivers/presets/ and refreshed from the barn model. With
 * `ptyPath` the demo reads it over a real serial pty (socat), so a newcomer sees real Modbus RTU.
 * Needs socat (RTU) and /usr/bin/python3 with pymodbus; throws BL_DRIVER_UNAVAILABLE otherwise.
 */
export async function startModbusBarnSimulator(o: ModbusBarnSimulatorOptions): Promise<ModbusBarnSimulator> {
  if (!o.ptyPath && !o.port) throw ERR_CONFIG_INVALID("startModbusBarnSimulator needs ptyPath or port");
  const units = o.units ?? { climate: 1, ammonia: 2, silo: 3 };
  const values = o.values ?? barnModelValues();
  const now = o.now ?? Date.now;
  let pty: PtyPair | undefined;
  if (o.ptyPath) pty = await openPtyPair(o.ptyPath, `${o.ptyPath}.slave`);
  let slave: SlaveProcess;
  try {
    slave = await startSlaveProcess({ serial: pty?.b, tcp: o.port, units: Object.values(units) });
  } catch (e) {
    await pty?.stop();
    throw e;
  }
  const write = async () => {
    const v = values(now());
    for (const d of DEVICES) {
      for (const raw of presets[d.preset]?.registers ?? []) {
        const r = registerSchema.parse(raw);
        const value = FEEDS[r.sensor]?.(v) ?? 0;
        const rawValue =
          r.type === "float32" ? (value - r.offset) / r.scale : Math.round((value - r.offset) / r.scale);
        await slave.set(units[d.key], TABLE[r.table]!, r.address, encodeWords(rawValue, r));
      }
    }
  };
  await write();
  let writing = false;
  const timer = setInterval(() => {
    if (writing) return;
    writing = true;
    void write()
      .catch(() => {})
      .finally(() => {
        writing = false;
      });
  }, o.updateEvery ?? 1000);
  return {
    path: pty?.a,
    port: o.port,
    slave,
    sourceConfig: (name = "barn-modbus", interval = "10s") => ({
      driver: "modbus",
      name,
      ...(pty ? { transport: "rtu", port: pty.a } : { transport: "tcp", host: "127.0.0.1", tcpPort: o.port }),
      devices: DEVICES.map((d) => ({ name: d.key, unit: units[d.key], preset: d.preset, interval })),
    }),
    async stop() {
      clearInterval(timer);
      await slave.stop();
      await pty?.stop();
    },
  };
}
