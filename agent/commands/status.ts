import { join } from "node:path";
import { loadConfigFile } from "../../core/config.ts";
import { readOutboxStatus } from "../../sync/outbox/read-status.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";

const usage = "barnlink status --config FILE [--json]";

export const status: CommandSpec = {
  name: "status",
  summary: "Per stream: last seq appended, last seq acknowledged, records pending",
  usage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" }, json: { type: "boolean" } }, usage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", usage), agentConfigSchema());
    const s = readOutboxStatus(join(cfg.dataDir, "outbox.db"));
    if (a.values.json) {
      out(JSON.stringify(s));
      return 0;
    }
    const rows = [["stream", "appended", "acked", "pending", "pending bytes", "evicted"]];
    for (const r of s.streams)
      rows.push([
        r.stream,
        `${r.lastSeq}`,
        `${r.ackedSeq}`,
        `${r.pending}`,
        `${r.pendingBytes}`,
        `${r.evicted}`,
      ]);
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    out(`device ${s.device}`);
    for (const r of rows) out(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  "));
    const pending = s.streams.reduce((n, r) => n + r.pending, 0);
    out(`${pending} record${pending === 1 ? "" : "s"} pending`);
    return 0;
  },
};
