import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { ERR_VALIDATION } from "../../core/errors.ts";
import { fromRoot } from "../../core/paths.ts";
import { stopChild } from "../common/pty-pair.ts";
import { ERR_DRIVER_UNAVAILABLE } from "../errors.ts";

export type SlaveTable = "hr" | "ir" | "co" | "di";

/** A pymodbus slave in a child process: an independent Modbus implementation to test against. */
export interface SlaveProcess {
  set(unit: number, table: SlaveTable, addr: number, values: Array<number | boolean>): Promise<void>;
  /** The unit stops answering (or answers again), as if its cable were cut. */
  silent(unit: number, on: boolean): Promise<void>;
  /** The next `count` responses carry a broken CRC. */
  corrupt(count: number): Promise<void>;
  stop(): Promise<void>;
  /** The python process (tests kill it to see the slave die under a running demo). */
  readonly pid: number | undefined;
}

const PYTHON = "/usr/bin/python3";
const SCRIPT = fromRoot("drivers/modbus-sim/barn_slave.py");

export function pymodbusAvailable(): boolean {
  return spawnSync(PYTHON, ["-c", "import pymodbus, serial_asyncio"], { stdio: "ignore" }).status === 0;
}

export async function startSlaveProcess(opts: {
  serial?: string;
  tcp?: number;
  units: number[];
  baud?: number;
}): Promise<SlaveProcess> {
  if (!pymodbusAvailable())
    throw ERR_DRIVER_UNAVAILABLE(
      "the Modbus slave needs /usr/bin/python3 with pymodbus (apt-get install python3-pymodbus)",
    );
  const args = [SCRIPT, "--units", opts.units.join(",")];
  if (opts.serial) args.push("--serial", opts.serial, "--baud", String(opts.baud ?? 9600));
  else args.push("--tcp", String(opts.tcp));
  // Its own process group (setsid): a terminal's Ctrl-C reaches the demo, which stops this slave
  // after the agents have drained, instead of the slave dying under the agent mid-run.
  const child = spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
  // A write racing the slave's exit fails with EPIPE: the exit handler already rejects every
  // waiting command with the slave's last words, so the pipe error itself is not news.
  child.stdin.on("error", () => {});
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<{ resolve(l: string): void; reject(e: Error): void }> = [];
  let exited = false;
  lines.on("line", (l) => waiting.shift()?.resolve(l));
  child.once("exit", () => {
    exited = true;
    const e = ERR_DRIVER_UNAVAILABLE(`modbus slave exited: ${stderr.trim().split("\n").pop() ?? ""}`);
    for (const w of waiting.splice(0)) w.reject(e);
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      if (exited) return reject(ERR_DRIVER_UNAVAILABLE("modbus slave has exited"));
      waiting.push({ resolve, reject });
    });
  const ready = await Promise.race([
    nextLine(),
    new Promise<string>((r) => setTimeout(() => r("timeout"), 15_000)),
  ]).catch((e: Error) => e.message);
  if (ready !== "READY") {
    await stopChild(child);
    throw ERR_DRIVER_UNAVAILABLE(`modbus slave did not start: ${ready}`);
  }
  let chain: Promise<unknown> = Promise.resolve();
  const send = (cmd: object) => {
    const p = chain.then(async () => {
      if (exited || !child.stdin.writable) throw ERR_DRIVER_UNAVAILABLE("modbus slave has exited");
      const reply = nextLine();
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      const line = await reply;
      if (line !== "OK") throw ERR_VALIDATION(`modbus slave refused ${JSON.stringify(cmd)}: ${line}`);
    });
    chain = p.catch(() => {});
    return p;
  };
  return {
    set: (unit, table, addr, values) => send({ op: "set", unit, table, addr, values }),
    silent: (unit, on) => send({ op: "silent", unit, on }),
    corrupt: (count) => send({ op: "corrupt", count }),
    pid: child.pid,
    async stop() {
      child.stdin.end();
      await stopChild(child);
    },
  };
}
