import { readFileSync } from "node:fs";
import { join } from "node:path";
import { canonicalBytes } from "../core/canonical.ts";
import { acceleratedClock, type Clock, systemClock } from "../core/clock.ts";
import { type KeyPair, loadOrCreateKey, publicKeyFromB64, signBytes } from "../core/keys.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { CameraHub } from "../drivers/camera-types.ts";
import { driverByName } from "../drivers/registry.ts";
import type { AlarmInput, Reading, Source, SourceContext } from "../drivers/types.ts";
import { ERR_OUTBOX_FULL } from "../sync/errors.ts";
import { classOf, isKind, kinds, PRIORITY } from "../sync/kinds.ts";
import { Link } from "../sync/link.ts";
import type { Command } from "../sync/messages.ts";
import { SqliteOutbox, type StorageEvent } from "../sync/outbox/sqlite-outbox.ts";
import type { AgentConfig } from "./config.ts";
import { registerModelCommands } from "./model-rollout.ts";

export type CommandHandler = (cmd: Command, agent: Agent) => void | Promise<void>;

export interface AgentCounters {
  appended: number;
  badReadings: number;
  alarms: number;
  driverEvents: Record<string, number>;
}

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
  outbox!: SqliteOutbox;
  link!: Link;
  key!: KeyPair & { created: boolean };
  private readonly sources: Source[] = [];
  private readonly abort = new AbortController();
  private readonly alarmState = new Map<string, boolean>();
  private readonly commandHandlers = new Map<string, CommandHandler>();
  private sealTimer?: NodeJS.Timeout;

  constructor(
    readonly config: AgentConfig,
    opts: { log?: Logger; clock?: Clock } = {},
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
    this.onCommand("sync.now", () => this.link.kick(0));
    this.onCommand("seal.now", () => this.seal());
    registerModelCommands(this, () => this.sources);
  }

  onCommand(name: string, handler: CommandHandler): void {
    this.commandHandlers.set(name, handler);
  }

  async start(): Promise<void> {
    const c = this.config;
    this.key = loadOrCreateKey(join(c.dataDir, "device.key"));
    if (this.key.created)
      this.log.info({ publicKey: this.key.publicKeyB64 }, "created the device key; register it in the cloud");
    this.outbox = new SqliteOutbox(join(c.dataDir, "outbox.db"), c.device, {
      // emit() validates every body against its kind and is the only way in: not twice.
      validate: false,
      quota: c.outbox.quota,
      minFreeDisk: c.outbox.minFreeDisk,
      onStorage: (e) => queueMicrotask(() => this.onStorage(e)),
    });
    const rec = this.outbox.recovery;
    if (rec) {
      const detail = { quarantined: rec.quarantined, records: rec.records, errors: rec.errors.slice(0, 5) };
      // An older layout moved aside is an upgrade, not damage: say so, and don't cry wolf.
      const migrated = rec.quarantined.includes(".old-layout-");
      if (migrated) this.log.info(detail, "outbox of an older layout carried over into a fresh file");
      else
        this.log.error(detail, "the outbox was corrupt: quarantined, salvaged, continuing in a fresh file");
      this.raise({
        code: migrated ? "outbox.migrated" : "outbox.corrupt",
        severity: migrated ? "info" : "critical",
        subject: "outbox",
        active: true,
        message: `outbox ${migrated ? "moved aside" : "quarantined"} as ${rec.quarantined}; ${rec.records} pending records carried over`,
        detail,
      });
    }
    this.link = new Link({
      url: c.cloud.mqtt.url,
      device: c.device,
      outbox: this.outbox,
      deviceKey: this.key,
      cloudKey: publicKeyFromB64(c.cloud.publicKey),
      clock: this.clock,
      log: this.log.child({ part: "link" }),
      mqtt: {
        username: c.cloud.mqtt.username,
        password: c.cloud.mqtt.password,
        keepalive: Math.round(c.cloud.mqtt.keepalive / 1000),
        ...(c.cloud.mqtt.caFile ? { ca: readFileSync(c.cloud.mqtt.caFile) } : {}),
        ...(c.cloud.mqtt.certFile ? { cert: readFileSync(c.cloud.mqtt.certFile) } : {}),
        ...(c.cloud.mqtt.keyFile ? { key: readFileSync(c.cloud.mqtt.keyFile) } : {}),
      },
      batch: { maxRecords: c.sync.batchMaxRecords, maxBytes: c.sync.batchMaxBytes, lingerMs: c.sync.linger },
      window: c.sync.window,
      ackTimeoutMs: c.sync.ackTimeout,
      compression: c.sync.compression,
      dailyBudget: c.sync.dailyBudget,
      reconnect: { baseMs: c.sync.reconnectBase, capMs: c.sync.reconnectCap },
      firstSight: (id) => this.outbox.firstSight(id),
      onCommand: (cmd) => this.runCommand(cmd),
    });
    this.link.start();
    for (const sc of c.sources) {
      const def = driverByName(sc.driver);
      if (!def) throw new Error(`unknown driver ${sc.driver}`);
      const src = def.create(sc, { cameras: this.cameras } as never);
      this.sources.push(src);
      await src.start(this.sourceContext(src.name));
    }
    this.sealTimer = setInterval(() => this.seal(), c.sealInterval);
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
      const p = kinds[r.kind].schema.safeParse(r.body);
      if (!p.success) {
        const i = p.error.issues[0]!;
        this.badReading(source, r, `${i.path.join(".") || "(root)"}: ${i.message}`);
        continue;
      }
      const t = r.t ?? now;
      if (!Number.isSafeInteger(t.wall) || !Number.isSafeInteger(t.mono) || typeof t.boot !== "string") {
        this.badReading(source, r, "capture time must be whole milliseconds (wall, mono) with a boot id");
        continue;
      }
      good.push({
        stream: r.stream,
        kind: r.kind,
        body: p.data,
        t: typeof t.synced === "boolean" ? t : { ...t, synced: t.synced === true },
      });
    }
    if (good.length === 0) return;
    const durable = good.some((g) => classOf(g.kind) !== "telemetry" && classOf(g.kind) !== "media")
      ? "full"
      : "normal";
    try {
      this.outbox.append(good, { durable });
    } catch (e) {
      // Full: the outbox counted and refused them (docs/durability.md); the storage alarm is raised.
      if (!ERR_OUTBOX_FULL.is(e)) throw e;
      this.log.warn({ source, records: good.length }, e.message);
      return;
    }
    this.counters.appended += good.length;
    for (const g of good) this.latest.set(g.stream, { kind: g.kind, body: g.body, t: g.t.wall, source });
    const dock = this.config.sync.reconnectOn;
    const dockEvent = dock
      ? good.findLast((g) => g.kind === "event" && (g.body as { input?: string }).input === dock)
      : undefined;
    const docked = (dockEvent?.body as { state?: unknown } | undefined)?.state;
    const away = this.config.sync.awayBudget;
    // Undocked with an away budget: alarms only, within the budget (the rest waits for the dock).
    if (docked === false && away !== undefined)
      this.link.restrict({ maxPriority: PRIORITY.alarm, bytes: away });
    if (docked === true) {
      if (away !== undefined) this.link.restrict(undefined);
      // Docked: Wi-Fi is back, so upload now rather than after the reconnect backoff.
      this.link.reconnectNow();
    }
    this.link.kick();
  }

  private onStorage(e: StorageEvent) {
    if (e.type === "evicted") {
      this.log.warn({ ranges: e.ranges }, "outbox over quota: evicted the oldest evictable records");
      return;
    }
    if (e.type === "damaged") {
      // Stored records no longer match their chain (altered or damaged on disk): that stream is held,
      // nothing derived from it is signed or sent; the rows stay in the outbox for inspection.
      this.log.error(
        { stream: e.stream, why: e.message },
        "outbox stream held: records fail their chain check",
      );
      this.raise({
        code: "outbox.damaged",
        severity: "critical",
        subject: e.stream,
        active: true,
        message: `stream ${e.stream} held, not sent: ${e.message}`,
      });
      return;
    }
    this.raise({
      code: "outbox.full",
      severity: "critical",
      subject: "outbox",
      active: e.active,
      message: e.active
        ? "outbox full of never-evict data: telemetry and media refused, evidence kept down to the disk floor"
        : "outbox has room again",
      detail: { pendingBytes: e.pendingBytes, freeDisk: e.freeDisk },
    });
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
        await h(cmd, this);
        state = "applied";
      } else {
        // Otherwise the sources that know the command act on it (census.interval: the barn's census).
        for (const s of this.sources)
          if (s.command && (await s.command(cmd.name, cmd.args))) state = "applied";
      }
    } catch (e) {
      state = "failed";
      this.log.error({ id: cmd.id, name: cmd.name, err: (e as Error).message }, "command failed");
    }
    this.log.info({ id: cmd.id, name: cmd.name, args: cmd.args, state }, "command");
    // Every command and its outcome become evidence: the lender sees the demand was met, and the
    // cloud stops re-sending it once this record is committed.
    this.emit([
      {
        stream: "commands",
        kind: "event",
        body: { input: cmd.name, state, detail: { id: cmd.id, args: cmd.args } },
      },
    ]);
  }

  /** Stops taking readings (the link keeps draining what is stored). */
  async stopSources(): Promise<void> {
    for (const s of this.sources.splice(0)) {
      await s.stop().catch((e) => this.log.warn({ err: (e as Error).message }, "source stop failed"));
    }
  }

  status() {
    return {
      device: this.config.device,
      streams: this.outbox.status(),
      link: { ...this.link.stats },
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
