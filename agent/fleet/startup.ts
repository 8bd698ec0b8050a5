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
  /**
   * A config the previous process restarted to run (config-apply.ts: it needed node flags that
   * process lacked): the agent starts on `config` as usual and then applies this one on probation.
   */
  resume?: { config: AgentConfig; text: string; command: string; deadlineMs: number };
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
  // A config the last process restarted for (its node flags): read, not yet on probation. Once the
  // host applies it, it is pending again without the mark, so a crash on it is a crash on probation.
  const restart = pending?.meta.restart ? validateRemoteConfig(pending.text, local) : undefined;
  if (pending && restart?.ok && pending.meta.restart) {
    const resume = {
      config: restart.config,
      text: pending.text,
      command: pending.meta.command,
      deadlineMs: pending.meta.restart.deadlineMs,
    };
    // node-flags chooses this start's flags from it: the config the process is restarting for.
    if (o.readOnly) return { ...out, config: restart.config };
    store.drop("pending");
    out.resume = resume;
    log.info({ command: pending.meta.command }, "restarted for a remote config's node flags: applying it");
  } else if (pending && !o.readOnly) {
    store.drop("pending");
    out.interrupted = {
      command: pending.meta.command,
      sha256: pending.meta.sha256,
      reason: restart
        ? "the config the agent restarted for no longer validates"
        : "the agent restarted before the new config proved healthy",
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
