import { join } from "node:path";
import { canonicalBytes } from "../core/canonical.ts";
import { acceleratedClock, type Clock, systemClock } from "../core/clock.ts";
import { type KeyPair, loadOrCreateKey, signBytes } from "../core/keys.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { CameraHub } from "../drivers/camera-types.ts";
import { ERR_DRIVER_NEEDS_JIT, ERR_DRIVER_UNKNOWN } from "../drivers/errors.ts";
import { driverByName } from "../drivers/registry.ts";
import type { AlarmInput, Reading, Source, SourceContext } from "../drivers/types.ts";
import { ERR_OUTBOX_FULL } from "../sync/errors.ts";
import { classOf, isKind, isPlainBlock, isPlainReading, kinds, PRIORITY } from "../sync/kinds.ts";
import { Link, type LinkOptions } from "../sync/link.ts";
import type { Command } from "../sync/messages.ts";
import { SqliteOutbox } from "../sync/outbox/sqlite-outbox.ts";
import type { Outbox, StorageEvent } from "../sync/outbox/types.ts";
import type { AgentConfig } from "./config.ts";
import { linkOptionsFrom } from "./link-options.ts";
import { memTrace } from "./mem-trace.ts";
import { registerModelCommands } from "./model-rollout.ts";
import { recoveryNotice, type StorageNotice, storageNotice } from "./storage-alarms.ts";

/**
 * A verified command's handler. It may return the state recorded in the `commands` stream (default
 * `applied`): `config.apply` says `accepted`, its outcome follows in its own stream.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing
export type CommandHandler = (cmd: Command, agent: Agent) => void | string | Promise<void | string>;

export interface CommandOptions {
  /** What of the args goes into the `commands` evidence record (default: all); a config's secrets must not. */
  recordArgs?(args: Record<string, unknown>): Record<string, unknown>;
}

export interface AgentCounters {
  appended: number;
  badReadings: number;
  alarms: number;
  driverEvents: Record<string, number>;
}

/** What the agent needs of its link (sync/link.ts; unit tests pass a fake). */
export type AgentLink = Pick<
  Link,
  "start" | "stop" | "kick" | "reconnectNow" | "restrict" | "restrictedBytes" | "drained" | "stats"
>;

/**
 * The parts the agent builds at start, replaceable (unit tests pass an in-memory outbox and a fake
 * link; the defaults are the SQLite outbox in `dataDir` and the MQTT link).
 */
export interface AgentParts {
  openOutbox?: (config: AgentConfig, onStorage: (e: StorageEvent) => void) => Outbox;
  createLink?: (opts: LinkOptions) => AgentLink;
}

/** The outbox on SQLite in the data dir, as the agent runs it. */
export const sqliteOutboxFor = (c: AgentConfig, onStorage: (e: StorageEvent) => void): Outbox =>
  new SqliteOutbox(join(c.dataDir, "outbox.db"), c.device, {
    // emit() validates every body against its kind and is the only way in: not twice.
    validate: false,
    quota: c.outbox.quota,
    minFreeDisk: c.outbox.minFreeDisk,
    onStorage,
  });

/** The start-up steps in order; each is a method of the agent and testable alone. */
export const START_STEPS = ["key", "outbox", "recovery", "link", "sources", "seal"] as const;
export type StartStep = (typeof START_STEPS)[number];

/**
 * The edge runtime: sources → outbox (durable) → link (MQTT). It owns the device key, stamps capture
 * times, validates every reading before it is stored, de-duplicates alarms, seals stream heads, and
 * executes verified commands from the cloud.
 */
export class Agent {
  readonly clock: Clock;
  readonly log: Logger;
  readonly cameras = new CameraHub();
  readonly counters: AgentCounters = { appended: 0, badReadings: 0, alarms: 0, driverEvents: {} };
  /** Latest value per stream and the last alarms raised: the gateway page shows them (agent/http). */
  readonly latest = new Map<string, { kind: string; body: unknown; t: number; source: string }>();
  readonly recentAlarms: Array<AlarmInput & { t: number }> = [];
  outbox!: Outbox;
  link!: AgentLink;
  key!: KeyPair & { created: boolean };
  /** The start-up steps done so far, in order (stop() undoes what they started). */
  readonly started: StartStep[] = [];
  private readonly sources: Source[] = [];
  private readonly abort = new AbortController();
  private readonly alarmState = new Map<string, boolean>();
  private readonly commandHandlers = new Map<string, { run: CommandHandler; opts: CommandOptions }>();
  private readonly parts: Required<AgentParts>;
  private sealTimer?: NodeJS.Timeout;

  constructor(
    readonly config: AgentConfig,
    opts: { log?: Logger; clock?: Clock; parts?: AgentParts } = {},
  ) {
    this.log = opts.log ?? silentLogger;
    this.clock =
      opts.clock ??
      (config.clock.speed
        ? acceleratedClock(
            config.clock.speed,
            config.clock.start ? Date.parse(config.clock.start) : Date.now(),
            config.clock.origin ? Date.parse(config.clock.origin) : Date.now(),
          )
        : systemClock(config.clock.synced));
    this.parts = {
      openOutbox: opts.parts?.openOutbox ?? sqliteOutboxFor,
      createLink: opts.parts?.createLink ?? ((o) => new Link(o)),
    };
    this.onCommand("sync.now", () => this.link?.kick(0));
    this.onCommand("seal.now", () => this.seal());
    registerModelCommands(this, () => this.sources);
  }

  onCommand(name: string, handler: CommandHandler, opts: CommandOptions = {}): void {
    this.commandHandlers.set(name, { run: handler, opts });
  }

  /** Runs the start-up steps in order (START_STEPS); a failing step's error names it. */
  async start(): Promise<void> {
    for (const step of START_STEPS) {
      await this.runStep(step);
      this.started.push(step);
      memTrace(`step:${step}`);
    }
  }

  /** One start-up step (start() runs them all; tests run them one by one). */
  async runStep(step: StartStep): Promise<void> {
    switch (step) {
      case "key":
        return this.startKey();
      case "outbox":
        return this.startOutbox();
      case "recovery":
        return this.startRecovery();
      case "link":
        return this.startLink();
      case "sources":
        return this.startSources();
      case "seal":
        return this.startSeal();
    }
  }

  private startKey() {
    this.key = loadOrCreateKey(join(this.config.dataDir, "device.key"));
    if (this.key.created)
      this.log.info({ publicKey: this.key.publicKeyB64 }, "created the device key; register it in the cloud");
  }

  private startOutbox() {
    this.outbox = this.parts.openOutbox(this.config, (e) =>
      queueMicrotask(() => this.notice(storageNotice(e))),
    );
  }

  /**
   * A quarantined outbox is an alarm (evidence: it reaches the lender). It is appended before the
   * link exists and goes with the first batch once the link connects.
   */
  private startRecovery() {
    const rec = this.outbox.recovery;
    if (rec) this.notice(recoveryNotice(rec));
  }

  private startLink() {
    this.link = this.parts.createLink(
      linkOptionsFrom(this.config, {
        outbox: this.outbox,
        deviceKey: this.key,
        clock: this.clock,
        log: this.log.child({ part: "link" }),
        onCommand: (cmd) => this.runCommand(cmd),
      }),
    );
    this.link.start();
  }

  private async startSources() {
    for (const sc of this.config.sources) {
      const def = driverByName(sc.driver);
      if (!def) throw ERR_DRIVER_UNKNOWN(`unknown driver '${sc.driver}' (see barnlink drivers list)`);
      if (def.needsJit && typeof WebAssembly === "undefined")
        throw ERR_DRIVER_NEEDS_JIT(
          `source ${sc.name} (driver ${sc.driver}) needs WebAssembly, which this node runs without (--lite-mode or --jitless); restart the service (its unit picks node flags from the config: barnlink agent node-flags) or set runtime.liteMode: off`,
        );
      const src = def.create(sc, { cameras: this.cameras } as never);
      this.sources.push(src);
      await src.start(this.sourceContext(src.name));
    }
  }

  private startSeal() {
    this.sealTimer = setInterval(() => this.seal(), this.config.sealInterval);
    this.sealTimer.unref();
  }

  /** Appends readings now; invalid ones are logged, counted and dropped, valid ones are kept. */
  emit(readings: Reading[], source = "agent"): void {
    const now = this.clock.now();
    const good = [];
    for (const r of readings) {
      if (!isKind(r.kind)) {
        this.badReading(source, r, `unknown kind '${r.kind}'`);
        continue;
      }
      // Readings and register blocks take the fast paths (sync/kinds.ts: true only where zod would
      // accept, and these schemas neither default nor transform); every other body is zod's.
      let body: unknown = r.body;
      if (!(r.kind === "reading" && isPlainReading(body)) && !(r.kind === "block" && isPlainBlock(body))) {
        const p = kinds[r.kind].schema.safeParse(r.body);
        if (!p.success) {
          const i = p.error.issues[0]!;
          this.badReading(source, r, `${i.path.join(".") || "(root)"}: ${i.message}`);
          continue;
        }
        body = p.data;
      }
      const t = r.t ?? now;
      if (!Number.isSafeInteger(t.wall) || !Number.isSafeInteger(t.mono) || typeof t.boot !== "string") {
        this.badReading(source, r, "capture time must be whole milliseconds (wall, mono) with a boot id");
        continue;
      }
      good.push({
        stream: r.stream,
        kind: r.kind,
        body,
        t: typeof t.synced === "boolean" ? t : { ...t, synced: t.synced === true },
      });
    }
    if (good.length === 0) return;
    const durable = good.some((g) => classOf(g.kind) !== "telemetry" && classOf(g.kind) !== "media")
      ? "full"
      : "normal";
    let stored = good;
    try {
      this.outbox.append(good, { durable });
    } catch (e) {
      // Full: the outbox refused readings and media (evidence and alarms in the same call are kept:
      // details.appended names them), counted them, and the storage alarm is raised (docs/durability.md).
      if (!ERR_OUTBOX_FULL.is(e)) throw e;
      this.log.warn({ source, records: good.length }, e.message);
      const kept = new Set(
        ((e.details as { appended?: Array<{ stream: string }> })?.appended ?? []).map((r) => r.stream),
      );
      // A stream holds one kind: its items were all kept or all refused.
      stored = good.filter((g) => kept.has(g.stream));
      if (stored.length === 0) return;
    }
    this.counters.appended += stored.length;
    for (const g of stored) this.latest.set(g.stream, { kind: g.kind, body: g.body, t: g.t.wall, source });
    const dock = this.config.sync.reconnectOn;
    const dockEvent = dock
      ? stored.findLast((g) => g.kind === "event" && (g.body as { input?: string }).input === dock)
      : undefined;
    const docked = (dockEvent?.body as { state?: unknown } | undefined)?.state;
    const away = this.config.sync.awayBudget;
    // Undocked with an away budget: alarms only, within the budget (the rest waits for the dock).
    if (docked === false && away !== undefined)
      this.link?.restrict({ maxPriority: PRIORITY.alarm, bytes: away });
    if (docked === true) {
      if (away !== undefined) this.link?.restrict(undefined);
      // Docked: Wi-Fi is back, so upload now rather than after the reconnect backoff.
      this.link?.reconnectNow();
    }
    // No link yet during start-up (the recovery alarm): the link sends it once connected.
    this.link?.kick();
  }

  private notice(n: StorageNotice) {
    this.log[n.level](n.log, n.message);
    if (n.alarm) this.raise(n.alarm);
  }

  private badReading(source: string, r: Reading, why: string) {
    this.counters.badReadings++;
    this.log.warn({ source, stream: r.stream, kind: r.kind, why }, "dropped an invalid reading");
  }

  raise(a: AlarmInput): void {
    const k = `${a.code}\0${a.subject}`;
    if (this.alarmState.get(k) === a.active) return;
    this.alarmState.set(k, a.active);
    this.counters.alarms++;
    this.recentAlarms.unshift({ ...a, t: this.clock.now().wall });
    this.recentAlarms.length = Math.min(this.recentAlarms.length, 50);
    this.emit([{ stream: "alarms", kind: "alarm", body: { ...a } }]);
  }

  private sourceContext(name: string): SourceContext {
    return {
      clock: this.clock,
      log: this.log.child({ source: name }),
      emit: (rs) => this.emit(rs, name),
      alarm: (a) => this.raise(a),
      count: (metric, labels, by = 1) => {
        const key = `${metric}${JSON.stringify(labels)}`;
        this.counters.driverEvents[key] = (this.counters.driverEvents[key] ?? 0) + by;
      },
      signal: this.abort.signal,
    };
  }

  /** Appends a signed seal of every stream's head. */
  seal(): void {
    const heads = this.outbox
      .heads()
      .filter((h) => h.stream !== "seal")
      .map((h) => ({ stream: h.stream, seq: h.seq, hash: h.hash.toString("hex") }));
    if (heads.length === 0) return;
    const sig = signBytes(
      this.key.privateKey,
      canonicalBytes({ ctx: "barnlink/v1/seal", device: this.config.device, heads }),
    );
    this.emit([{ stream: "seal", kind: "seal", body: { heads, sig: sig.toString("base64") } }]);
  }

  private async runCommand(cmd: Command) {
    const h = this.commandHandlers.get(cmd.name);
    let state = "ignored";
    try {
      if (h) {
        const r = await h.run(cmd, this);
        state = typeof r === "string" ? r : "applied";
      } else {
        // Otherwise the sources that know the command act on it (census.interval: the barn's census).
        for (const s of this.sources)
          if (s.command && (await s.command(cmd.name, cmd.args))) state = "applied";
      }
    } catch (e) {
      state = "failed";
      this.log.error({ id: cmd.id, name: cmd.name, err: (e as Error).message }, "command failed");
    }
    const args = h?.opts.recordArgs ? h.opts.recordArgs(cmd.args) : cmd.args;
    this.log.info({ id: cmd.id, name: cmd.name, args, state }, "command");
    // Every command and its outcome become evidence: the lender sees the demand was met, and the
    // cloud stops re-sending it once this record is committed.
    this.emit([
      {
        stream: "commands",
        kind: "event",
        body: { input: cmd.name, state, detail: { id: cmd.id, args } },
      },
    ]);
  }

  /** Stops taking readings (the link keeps draining what is stored). */
  /** Stops every source and the periodic seal: after this the agent appends nothing of its own. */
  async stopSources(): Promise<void> {
    clearInterval(this.sealTimer);
    for (const s of this.sources.splice(0)) {
      await s.stop().catch((e) => this.log.warn({ err: (e as Error).message }, "source stop failed"));
    }
  }

  /** What each running source says about itself (its optional `status()`: the faces source's model and operating point). */
  sourceStatus(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const s of this.sources) {
      const st = (s as { status?: () => unknown }).status?.();
      if (st !== undefined) out.set(s.name, st);
    }
    return out;
  }

  status() {
    return {
      device: this.config.device,
      streams: this.outbox.status(),
      link: { ...this.link?.stats },
      counters: this.counters,
    };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.sealTimer);
    await this.stopSources();
    await this.link?.stop();
    this.outbox?.close();
  }
}
