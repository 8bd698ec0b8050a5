import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseDuration } from "../core/config.ts";
import { ERR_USAGE } from "../core/errors.ts";

export interface CommandSpec {
  /** Words after `barnlink`, e.g. "config check". */
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/**
 * A command (or a group of commands sharing a first word, such as `model …`) listed by name and
 * summary and imported only when it runs: `barnlink agent` must not load the cloud, tfjs or sharp
 * that other commands need (a gateway's RAM is the budget). `load` resolves to the command, or to
 * the group's commands.
 */
export interface LazyCommand {
  name: string;
  summary: string;
  load(): Promise<CommandSpec | CommandSpec[]>;
}

/** One line of agent/commands/index.ts: `lazy("agent", "Run …", () => import("./agent-run.ts").then((m) => m.agentRun))`. */
export function lazy(name: string, summary: string, load: LazyCommand["load"]): LazyCommand {
  return { name, summary, load };
}

/** parseArgs that turns its errors into BL_USAGE with the command's usage line. */
export function args<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  usage: string,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw ERR_USAGE(`${(e as Error).message.replace(/\. To specify.*$/s, "")}\nusage: ${usage}`);
  }
}

export function need<T>(v: T | undefined, what: string, usage: string): T {
  if (v === undefined || v === "") throw ERR_USAGE(`missing ${what}\nusage: ${usage}`);
  return v;
}

/** A duration flag ("30s", "5m", …) in milliseconds; a bad one is a usage error naming the flag (exit 2). */
export function durationFlag(v: string, flag: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw ERR_USAGE(`${flag}: ${(e as Error).message}`);
  }
}

export const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
