import { renameSync, writeFileSync } from "node:fs";
import { silentLogger } from "../../core/log.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { chooseStartupConfig } from "../fleet/startup.ts";
import { nodeFlagsFor } from "../node-flags.ts";

const usage = "barnlink agent node-flags --config FILE [--write FILE]";

/**
 * The node flags this gateway's config calls for (agent/node-flags.ts), from the config the agent
 * will start with (the local file, or the cloud's config applied on top of it). The unit runs it as
 * `ExecStartPre=`: `--write` writes `BARNLINK_NODE_FLAGS=…` for `ExecStart=` to expand. The file
 * is first written empty (no extra flags: always safe), so a config that does not load leaves the
 * agent to start without them and report the problem itself.
 */
export const nodeFlagsCmd: CommandSpec = {
  name: "agent node-flags",
  summary: "Print the node flags the gateway's config calls for (the systemd unit runs it before the agent)",
  usage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" }, write: { type: "string" } }, usage);
    const file = need(a.values.config, "--config FILE", usage);
    const env = a.values.write; // not --env-file: node 20 reads that flag even after the script name
    const write = (flags: string[]) => {
      const tmp = `${env}.tmp-${process.pid}`;
      writeFileSync(tmp, `BARNLINK_NODE_FLAGS=${flags.join(" ")}\n`, { mode: 0o644 });
      renameSync(tmp, env!);
    };
    if (env) write([]);
    const choice = chooseStartupConfig(file, silentLogger, { readOnly: true });
    const { flags, why } = nodeFlagsFor(choice.config);
    if (env) {
      write(flags);
      process.stderr.write(`node flags: ${flags.join(" ") || "(none)"} (${why})\n`);
    } else out(flags.join(" "));
    return 0;
  },
};
