import { join } from "node:path";
import { startModbusBarnSimulator } from "../../drivers/modbus-sim/simulator.ts";

/**
 * A pymodbus RTU slave behind a socat pty pair, serving barn 1's transmitters (climate, ammonia,
 * silo load cell) on the demo's clock. Its streams carry an `rs485.` prefix beside the simulated
 * barn's own. Without socat or pymodbus the demo runs on, and says so.
 */
export async function startDemoModbus(
  dir: string,
  now: () => number,
): Promise<{ source?: Record<string, unknown>; note: string; stop(): Promise<void> }> {
  try {
    const sim = await startModbusBarnSimulator({ ptyPath: join(dir, "ttyBARN1"), now, updateEvery: 250 });
    const base = sim.sourceConfig("rs485", "1s") as { devices: Array<Record<string, unknown>> };
    const source = { ...base, devices: base.devices.map((d) => ({ ...d, prefix: "rs485." })) };
    return {
      source,
      note: `Modbus RTU            barn-1 reads a pymodbus slave over ${sim.path} (socat pty pair)`,
      stop: () => sim.stop(),
    };
  } catch (e) {
    return {
      note: `Modbus RTU            not in this run (${(e as Error).message.split("\n")[0]}); install socat and python3-pymodbus to see it`,
      stop: async () => {},
    };
  }
}
