import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");

export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `node bin/barnlink.js agent --config FILE` as a real process, its log appended to `logFile`;
 * `nodeFlags` go before the script (as the unit's `$BARNLINK_NODE_FLAGS`), `env` into its environment.
 */
export function spawnAgent(
  configFile: string,
  logFile: string,
  o: { nodeFlags?: string[]; env?: Record<string, string> } = {},
): AgentProcess {
  const fd = openSync(logFile, "a");
  const args = [...(o.nodeFlags ?? []), join(ROOT, "bin/barnlink.js"), "agent", "--config", configFile];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, BARNLINK_LOG: process.env.BARNLINK_LOG ?? "warn", ...o.env },
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    exited,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
