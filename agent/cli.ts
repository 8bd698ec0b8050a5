import { BarnlinkError } from "../core/errors.ts";
import type { CommandSpec } from "./cli-kit.ts";
import { commands } from "./commands/index.ts";
import { groupHelp } from "./group-help.ts";

function help(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    "barnlink — barn evidence from gateway to lender",
    "",
    "usage: barnlink <command> [options]   (add --debug for stack traces)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "barnlink <command> --help shows a command's options. Docs: docs/README.md",
  ].join("\n");
}

function find(argv: string[]): { cmd: CommandSpec; rest: string[] } | null {
  let best: { cmd: CommandSpec; rest: string[] } | null = null;
  for (const c of commands) {
    const words = c.name.split(" ");
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.cmd.name.split(" ").length)) {
      best = { cmd: c, rest: argv.slice(words.length) };
    }
  }
  return best;
}

/** Runs the CLI; returns the exit code. Errors print as one clear message (stack only with --debug). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const clean = argv.filter((a) => a !== "--debug");
  if (clean.length === 0 || clean[0] === "--help" || clean[0] === "help" || clean[0] === "-h") {
    process.stdout.write(`${help()}\n`);
    return clean.length === 0 ? 2 : 0;
  }
  const found = find(clean);
  const group = found ? null : groupHelp(commands, clean);
  if (group) {
    const asked = clean.includes("--help") || clean.includes("-h");
    (asked ? process.stdout : process.stderr).write(`${group}\n`);
    return asked ? 0 : 2;
  }
  if (!found) {
    process.stderr.write(`barnlink: unknown command '${clean.join(" ")}'\n\n${help()}\n`);
    return 2;
  }
  if (found.rest.includes("--help") || found.rest.includes("-h")) {
    process.stdout.write(`${found.cmd.summary}\nusage: ${found.cmd.usage}\n`);
    return 0;
  }
  try {
    return await found.cmd.run(found.rest);
  } catch (e) {
    if (e instanceof BarnlinkError) {
      process.stderr.write(`barnlink ${found.cmd.name}: ${e.message} [${e.code}]\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.statusCode < 500 ? 2 : 1;
    }
    process.stderr.write(`barnlink ${found.cmd.name}: ${(e as Error)?.message ?? String(e)}\n`);
    if (debug) process.stderr.write(`${(e as Error)?.stack ?? ""}\n`);
    return 1;
  }
}
