import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";

const usage = "barnlink config check FILE [--kind agent|cloud]";

/** An agent config names its `device`; anything else is taken for a cloud config unless --kind says. */
function guessKind(file: string): "agent" | "cloud" {
  try {
    const d = parse(readFileSync(file, "utf8"));
    return d && typeof d === "object" && "device" in d ? "agent" : "cloud";
  } catch {
    return "agent";
  }
}

export const configCheck: CommandSpec = {
  name: "config check",
  summary: "Validate an agent or cloud config; print every problem with its path (exit 2 if any)",
  usage,
  async run(argv) {
    const a = args(argv, { kind: { type: "string" } }, usage, true);
    const file = need(a.positionals[0], "FILE", usage);
    const kind = a.values.kind ?? guessKind(file);
    if (kind !== "agent" && kind !== "cloud") throw ERR_USAGE(`--kind must be agent or cloud, got ${kind}`);
    loadConfigFile(file, kind === "agent" ? agentConfigSchema() : cloudConfigSchema);
    out(`${file}: valid ${kind} config`);
    return 0;
  },
};
