import { readFileSync } from "node:fs";
import { parseConfigText } from "../../core/config.ts";
import { ERR_CONFIG_READ } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { type AgentConfig, agentConfigSchema } from "../config.ts";
import { validateRemoteConfig } from "./config-apply.ts";
import { ConfigStore, type RemoteMeta, sha256 } from "./config-store.ts";

export interface StartupChoice {
  config: AgentConfig;
  store: ConfigStore;
  localSha256: string;
  /** Set when the active config came from the cloud. */
  remote?: RemoteMeta;
  /** A config on probation when the process died: rolled back; the host records it once running. */
  interrupted?: { command: string; sha256: string; reason: string };
}

/**
 * Which config the agent starts with. The local file (`--config`) unless the cloud applied one on
 * top of this very file (same SHA-256): an installer's later edit of the file wins over the cloud's.
 * A config still on probation when the process died (power cut, watchdog) is dropped: it never
 * proved healthy. `readOnly` (`barnlink agent node-flags`, before the agent starts): the same
 * choice, nothing dropped and nothing logged.
 */
export function chooseStartupConfig(
  file: string,
  log: Logger,
  o: { readOnly?: boolean } = {},
): StartupChoice {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw ERR_CONFIG_READ(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const local = parseConfigText(text, agentConfigSchema(), file);
  const localSha256 = sha256(text);
  const store = new ConfigStore(local.dataDir);
  const out: StartupChoice = { config: local, store, localSha256 };
  const pending = store.read("pending");
  if (pending && !o.readOnly) {
    store.drop("pending");
    out.interrupted = {
      command: pending.meta.command,
      sha256: pending.meta.sha256,
      reason: "the agent restarted before the new config proved healthy",
    };
    log.warn({ command: pending.meta.command }, "a remote config was on probation at restart: dropped");
  }
  const active = store.read("active");
  if (!active) return out;
  if (active.meta.baseSha256 !== localSha256) {
    if (o.readOnly) return out;
    log.warn(
      { file, remote: active.meta.sha256 },
      "the local config file changed since the cloud's config was applied: the local file wins",
    );
    store.drop("active");
    return out;
  }
  const v = validateRemoteConfig(active.text, local);
  if (!v.ok) {
    if (o.readOnly) return out;
    // An upgrade can tighten the schema: the local file then runs, and says why.
    log.error({ problems: v.problems }, "the cloud's config no longer validates: running the local file");
    store.drop("active");
    return out;
  }
  return { ...out, config: v.config, remote: active.meta };
}
