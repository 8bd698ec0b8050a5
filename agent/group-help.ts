import type { CommandSpec } from "./cli-kit.ts";

/**
 * `barnlink model --help`, `barnlink drivers`, …: a word that starts several commands is a group;
 * it lists its commands (as `git remote` would) instead of "unknown command". Null if `argv` names
 * no group.
 */
export function groupHelp(
  commands: Array<Pick<CommandSpec, "name" | "summary">>,
  argv: string[],
): string | null {
  const words = argv.filter((a) => !a.startsWith("-"));
  for (let n = words.length; n >= 1; n--) {
    const prefix = words.slice(0, n);
    const members = commands.filter((c) => {
      const w = c.name.split(" ");
      return w.length > n && prefix.every((p, i) => w[i] === p);
    });
    if (members.length === 0) continue;
    const width = Math.max(...members.map((c) => c.name.length));
    return [
      `barnlink ${prefix.join(" ")} — ${members.length} command${members.length === 1 ? "" : "s"}:`,
      "",
      ...members.map((c) => `  barnlink ${c.name.padEnd(width)}  ${c.summary}`),
      "",
      `barnlink ${members[0]!.name} --help shows a command's options.`,
    ].join("\n");
  }
  return null;
}
