import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { main } from "../../agent/cli.ts";
import { commands } from "../../agent/commands/index.ts";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `barnlink ARGS` in this process (main() of agent/cli.ts), capturing what it writes: no child
 * process, no tsx start-up, so a busy machine cannot time it out. For commands that must read stdin
 * or exit the process, use cliProcess.
 */
export async function cliInProcess(args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (sink: (s: string) => void) =>
    ((chunk: string | Uint8Array) => {
      sink(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => {
    stdout += s;
  });
  process.stderr.write = capture((s) => {
    stderr += s;
  });
  try {
    const code = await main(args, commands);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");

/** Runs `barnlink ARGS` as a child process (stdin given as `input`); no timeout: waits for it. */
export function cliProcess(args: string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
