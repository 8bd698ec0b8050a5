import type { Logger } from "../../core/log.ts";
import type { Agent } from "../agent.ts";
import type { AgentConfig } from "../config.ts";
import { type ConfigStore, type RemoteMeta, sha256 } from "./config-store.ts";
import { activeAlarms, probation } from "./health.ts";
import type { LogRing } from "./log-ring.ts";

/** What runs beside an agent and goes with it (the gateway page). */
export interface Companion {
  close(): Promise<void>;
}

export interface HostOptions {
  log: Logger;
  store: ConfigStore;
  ring?: LogRing;
  /** Builds an agent for a config (agent-run keeps the demo's held clock; tests pass their parts). */
  create(config: AgentConfig): Agent;
  /** Starts what runs beside a started agent; undefined if it could not (a port clash). */
  companion?(agent: Agent): Promise<Companion | undefined>;
  /** Registers the fleet commands on each agent built (config.apply, status.report). */
  register?(agent: Agent, host: AgentHost): void;
  now?(): number;
}

/** What became of a config the cloud sent, as reported in the `config` stream. */
export type ApplyOutcome =
  | { state: "applied"; sha256: string }
  | { state: "rolled-back"; sha256: string; reason: string };

/**
 * Runs the agent and replaces it in-process with one on a new config: the old agent stops (its
 * outbox closes; nothing stored is lost), one on the new config starts and is watched for a deadline
 * (health.ts); healthy, the new config becomes the active one (ConfigStore.promote); otherwise it is
 * stopped and the previous config started again. Works the same under systemd and under the demo,
 * which keep the process. If even the previous config no longer starts, apply() throws and the
 * process exits: systemd restarts it on the active (previous) config, since the new one was never
 * promoted.
 */
export class AgentHost {
  agent!: Agent;
  /** True while a config is being swapped in (the watchdog must not judge a closed outbox). */
  swapping = false;
  private companion?: Companion;
  private meta?: RemoteMeta;
  private readonly abort = new AbortController();
  private applying?: Promise<ApplyOutcome>;

  constructor(
    private config: AgentConfig,
    private readonly o: HostOptions,
    /** Where the running config came from (startup picks the active remote config or the local file). */
    readonly origin: { remote?: RemoteMeta; localSha256?: string } = {},
  ) {
    this.meta = origin.remote;
  }

  /** The running config's hash and the command that sent it (null: the local file). */
  get remote(): RemoteMeta | undefined {
    return this.meta;
  }

  async start(): Promise<void> {
    this.agent = await this.bringUp(this.config);
  }

  private async bringUp(config: AgentConfig): Promise<Agent> {
    const a = this.o.create(config);
    this.o.register?.(a, this);
    this.o.ring?.setSecrets([config.cloud.mqtt.password, config.http.password]);
    try {
      await a.start();
    } catch (e) {
      await a.stop().catch(() => {});
      throw e;
    }
    this.companion = await this.o.companion?.(a);
    return a;
  }

  private async takeDown(): Promise<void> {
    await this.companion?.close().catch(() => {});
    this.companion = undefined;
    await this.agent.stop();
  }

  /**
   * Swaps in `next` (already validated) on probation for `deadlineMs`; keeps or rolls back, records
   * the outcome in the `config` stream of whichever agent runs afterwards, and returns it.
   */
  apply(next: AgentConfig, text: string, command: string, deadlineMs: number): Promise<ApplyOutcome> {
    const p = this.swap(next, text, command, deadlineMs);
    this.applying = p.catch(() => ({ state: "rolled-back", sha256: "", reason: "failed" }) as ApplyOutcome);
    return p;
  }

  private async swap(
    next: AgentConfig,
    text: string,
    command: string,
    deadlineMs: number,
  ): Promise<ApplyOutcome> {
    const now = this.o.now ?? Date.now;
    const sha = sha256(text);
    const previous = { config: this.config, meta: this.meta };
    const before = activeAlarms(this.agent);
    this.swapping = true;
    try {
      this.o.store.writePending(text, { sha256: sha, command, baseSha256: this.origin.localSha256 ?? "" });
      this.o.log.info({ command, sha256: sha, deadlineMs }, "config.apply: restarting on the new config");
      await this.takeDown();
      let reason: string;
      try {
        this.agent = await this.bringUp(next);
        this.config = next;
        const v = await probation(this.agent, before, deadlineMs, this.abort.signal);
        if (this.abort.signal.aborted) {
          // Stopped during probation: the new config was never proven, so the next start runs the active one.
          this.o.store.drop("pending");
          return { state: "rolled-back", sha256: sha, reason: "the agent stopped during probation" };
        }
        if (v.ok) {
          this.meta = this.o.store.promote(now());
          const outcome: ApplyOutcome = { state: "applied", sha256: sha };
          this.record(outcome, command, previous.meta?.sha256 ?? "local");
          this.o.log.info({ command, sha256: sha }, "config.apply: the new config is healthy and active");
          return outcome;
        }
        reason = v.reason;
        await this.takeDown();
      } catch (e) {
        reason = `did not start: ${(e as Error).message}`;
      }
      this.o.store.drop("pending");
      this.o.log.warn({ command, sha256: sha, reason }, "config.apply: rolling back to the previous config");
      this.config = previous.config;
      this.meta = previous.meta;
      this.agent = await this.bringUp(previous.config);
      const outcome: ApplyOutcome = { state: "rolled-back", sha256: sha, reason };
      this.record(outcome, command, previous.meta?.sha256 ?? "local");
      return outcome;
    } finally {
      this.swapping = false;
    }
  }

  /**
   * Keeps `text` for the next start, which runs it on probation (a lite-mode process cannot: see
   * config-apply.ts). The active config stays the one to fall back to.
   */
  prepareRestart(text: string, command: string, deadlineMs: number): void {
    // Until the process exits: no second config.apply, and the watchdog does not judge the agent.
    this.swapping = true;
    this.o.store.writePending(text, {
      sha256: sha256(text),
      command,
      baseSha256: this.origin.localSha256 ?? "",
      restart: { deadlineMs },
    });
  }

  /** Evidence of the outcome (the cloud's device page reads it). */
  record(
    outcome: { state: string; sha256: string; reason?: string },
    command: string,
    running: string,
  ): void {
    this.agent.emit([
      {
        stream: "config",
        kind: "event",
        body: {
          input: "config.apply",
          state: outcome.state,
          detail: {
            id: command,
            sha256: outcome.sha256,
            running,
            ...(outcome.reason ? { reason: outcome.reason } : {}),
          },
        },
      },
    ]);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.applying;
    await this.takeDown();
  }
}
