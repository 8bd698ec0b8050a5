import { spawnSync } from "node:child_process";
import { IN_CI } from "./services.ts";

/** Whether a command-line tool runs here (`which`-style, without depending on `which`). */
export function toolRuns(cmd: string, args: string[] = ["-h"]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined;
}

export const pymodbusRuns = (): boolean =>
  spawnSync("/usr/bin/python3", ["-c", "import pymodbus, serial_asyncio"], {
    stdio: "ignore",
    timeout: 20_000,
  }).status === 0;

const PROBES: Record<string, () => boolean> = {
  socat: () => toolRuns("socat", ["-V"]),
  ffmpeg: () => toolRuns("ffmpeg", ["-version"]),
  mbpoll: () => toolRuns("mbpoll", ["-V"]),
  "python3-pymodbus": pymodbusRuns,
};

/**
 * Whether a tool a test needs is installed (as serviceAvailable does for services): off CI a missing
 * tool skips with a printed reason; under CI=true it throws, so CI can never pass by skipping.
 * Install them with: apt-get install -y socat python3-pymodbus ffmpeg mbpoll
 */
export function requireTool(...names: string[]): boolean {
  for (const name of names) {
    const probe = PROBES[name] ?? (() => toolRuns(name));
    if (probe()) continue;
    if (IN_CI) throw new Error(`${name} is required under CI=true but is not installed`);
    console.warn(
      `SKIP: ${name} is not installed on this machine; its tests are skipped (apt-get install ${name})`,
    );
    return false;
  }
  return true;
}
