import { z } from "zod";
import { type ConfigProblem, parseConfigText } from "../../core/config.ts";
import { ERR_CONFIG_INVALID, ERR_CONFIG_READ } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { duration } from "../../core/zod-helpers.ts";
import type { Agent } from "../agent.ts";
import { type AgentConfig, agentConfigSchema } from "../config.ts";
import { jitProblems } from "../node-flags.ts";
import { sha256 } from "./config-store.ts";
import type { AgentHost } from "./host.ts";

/** `config.apply` args: the whole agent config as YAML text, its hash, the probation deadline. */
const applyArgs = z.strictObject({
  config: z
    .string()
    .min(1)
    .max(256 * 1024),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** How long the new config has to come up healthy (default 60 s). */
  deadline: duration().pipe(z.number().int().min(1000).max(600_000)).default(60_000),
});

/** Keys a remote config must leave as they are (they name the gateway, its data and whom it trusts). */
const PINNED: Array<[string, (c: AgentConfig) => unknown, string]> = [
  [
    "device",
    (c) => c.device,
    "the gateway's id cannot change remotely (its records and key are registered under it)",
  ],
  ["dataDir", (c) => c.dataDir, "dataDir cannot change remotely (the outbox and the device key live there)"],
  [
    "cloud.publicKey",
    (c) => c.cloud.publicKey,
    "the cloud key cannot change by a command signed with it (rotate keys on the gateway itself)",
  ],
];

/** Validates a config text against the agent's own schema and the pinned keys; every problem listed. */
export function validateRemoteConfig(
  text: string,
  current: AgentConfig,
): { ok: true; config: AgentConfig } | { ok: false; problems: ConfigProblem[] } {
  let config: AgentConfig;
  try {
    config = parseConfigText(text, agentConfigSchema(), "config.apply");
  } catch (e) {
    if (ERR_CONFIG_INVALID.is(e)) return { ok: false, problems: e.details as ConfigProblem[] };
    if (ERR_CONFIG_READ.is(e)) return { ok: false, problems: [{ path: "(file)", message: e.message }] };
    throw e;
  }
  const problems = PINNED.filter(([, get]) => get(config) !== get(current)).map(([path, , message]) => ({
    path,
    message,
  }));
  return problems.length ? { ok: false, problems } : { ok: true, config };
}

/**
 * `config.apply`: validate (refused: `rejected` with every problem, the running config untouched),
 * else restart on it on probation (host.ts) and report `applied` or `rolled-back`. The config text
 * never goes into the `commands` evidence record (it may hold the broker password): its hash does.
 */
export interface ConfigApplyHooks {
  /** The previous config does not start again either: the process must exit. */
  onFatal(e: Error): void;
  /**
   * Exits for the unit to restart the agent (exit status 75): set only where the restart chooses
   * node flags from the config again (the systemd unit's `ExecStartPre=`, which sets
   * BARNLINK_NODE_FLAGS). Without it a config this process cannot run is rejected.
   */
  onRestart?(reason: string): void;
}

export function registerConfigApply(agent: Agent, host: AgentHost, hooks: ConfigApplyHooks): void {
  const log: Logger = agent.log;
  agent.onCommand(
    "config.apply",
    (cmd) => {
      const a = applyArgs.safeParse(cmd.args);
      const text = typeof cmd.args.config === "string" ? cmd.args.config : "";
      const sha = sha256(text);
      const reject = (problems: ConfigProblem[]) => {
        log.warn({ id: cmd.id, problems }, "config.apply rejected; the running config stays");
        agent.emit([
          {
            stream: "config",
            kind: "event",
            body: {
              input: "config.apply",
              state: "rejected",
              detail: {
                id: cmd.id,
                sha256: sha,
                running: host.remote?.sha256 ?? "local",
                errors: problems.slice(0, 50),
              },
            },
          },
        ]);
        return "rejected";
      };
      if (!a.success)
        return reject(a.error.issues.map((i) => ({ path: `args.${i.path.join(".")}`, message: i.message })));
      if (a.data.sha256 && a.data.sha256 !== sha)
        return reject([
          { path: "args.sha256", message: `the config's SHA-256 is ${sha}, not ${a.data.sha256}` },
        ]);
      if (host.swapping) return reject([{ path: "(command)", message: "another config is on probation" }]);
      const v = validateRemoteConfig(a.data.config, agent.config);
      if (!v.ok) return reject(v.problems);
      const jit = jitProblems(v.config);
      if (jit.length && !hooks.onRestart) return reject(jit);
      if (jit.length) {
        // This node runs in lite mode (no WebAssembly): restart into the node flags the new config
        // calls for, and apply it there on probation (startup.ts). Until it proves healthy the
        // active config stays the one a later start falls back to.
        const reason = `restarting for the node flags this config needs (${jit[0]!.path} needs WebAssembly)`;
        host.prepareRestart(a.data.config, cmd.id, a.data.deadline);
        log.info({ id: cmd.id, sha256: sha }, `config.apply: ${reason}`);
        host.record({ state: "restarting", sha256: sha, reason }, cmd.id, host.remote?.sha256 ?? "local");
        setImmediate(() => hooks.onRestart!(reason));
        return "accepted";
      }
      // After this handler returns: the agent first records the command as accepted in its outbox.
      setImmediate(() => {
        host.apply(v.config, a.data.config, cmd.id, a.data.deadline).catch(hooks.onFatal);
      });
      return "accepted";
    },
    {
      recordArgs: (args) => ({
        sha256: sha256(typeof args.config === "string" ? args.config : ""),
        bytes: typeof args.config === "string" ? args.config.length : 0,
        ...(args.deadline !== undefined ? { deadline: args.deadline } : {}),
      }),
    },
  );
}
