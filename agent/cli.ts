import { BarnlinkError } from "../core/errors.ts";
import type { CommandSpec, LazyCommand } from "./cli-kit.ts";
import { groupHelp } from "./group-help.ts";

type Entry = LazyCommand | CommandSpec;

const words = (name: string) => name.split(" ");

function table(title: string, rows: Array<{ name: string; summary: string }>, foot: string): string {
  const w = Math.max(...rows.map((c) => c.name.length));
  return [title, "", ...rows.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), "", foot].join("\n");
}

function help(list: Entry[]): string {
  return table(
    "barnlink — barn evidence from gateway to lender\n\nusage: barnlink <command> [options]   (add --debug for stack traces)",
    list,
    "barnlink <command> --help shows a command's options. Docs: docs/README.md",
  );
}

/** The entry whose name is the longest word-prefix of argv. */
function longest<T extends { name: string }>(list: T[], argv: string[]): { hit: T; rest: string[] } | null {
  let best: { hit: T; rest: string[] } | null = null;
  for (const c of list) {
    const w = words(c.name);
    if (w.every((x, i) => argv[i] === x) && (!best || w.length > words(best.hit.name).length)) {
      best = { hit: c, rest: argv.slice(w.length) };
    }
  }
  return best;
}

/** Imports the command argv names (only that one: lazy entries load on use). */
async function find(
  list: Entry[],
  argv: string[],
): Promise<{ cmd: CommandSpec; rest: string[] } | { group: string } | null> {
  const found = longest<Entry>(list, argv);
  if (!found) return null;
  const e = found.hit;
  if ("run" in e) return { cmd: e, rest: found.rest };
  const loaded = await e.load();
  if (!Array.isArray(loaded)) return { cmd: loaded, rest: found.rest };
  const sub = longest(loaded, argv);
  if (sub) return { cmd: sub.hit, rest: sub.rest };
  return { group: groupHelp(loaded, argv) ?? `${e.summary}` };
}

/**
 * Runs the CLI over `list` (agent/commands/index.ts, or the gateway's alone); returns the exit code.
 * Errors print as one clear message (stack only with --debug).
 */
export async function main(argv: string[], list: Entry[]): Promise<number> {
  const debug = argv.includes("--debug");
  const clean = argv.filter((a) => a !== "--debug");
  if (clean.length === 0 || clean[0] === "--help" || clean[0] === "help" || clean[0] === "-h") {
    process.stdout.write(`${help(list)}\n`);
    return clean.length === 0 ? 2 : 0;
  }
  const found = await find(list, clean);
  // `barnlink drivers`, `barnlink devices --help`…: a word that starts several commands lists them.
  const group = found ? null : groupHelp(list, clean);
  if (group) {
    const asked = clean.includes("--help") || clean.includes("-h");
    (asked ? process.stdout : process.stderr).write(`${group}\n`);
    return asked ? 0 : 2;
  }
  if (!found) {
    process.stderr.write(`barnlink: unknown command '${clean.join(" ")}'\n\n${help(list)}\n`);
    return 2;
  }
  if ("group" in found) {
    // `barnlink model` alone or with --help lists the group; anything else after it is a mistake.
    const asked = clean.length === 1 || clean[1] === "--help" || clean[1] === "-h";
    if (asked) process.stdout.write(`${found.group}\n`);
    else process.stderr.write(`barnlink: unknown command '${clean.join(" ")}'\n\n${found.group}\n`);
    return asked && clean.length > 1 ? 0 : 2;
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
