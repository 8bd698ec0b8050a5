import type { KeyObject } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Clock } from "../core/clock.ts";
import type { KeyPair } from "../core/keys.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { Backoff } from "./backoff.ts";
import type { Compression } from "./codec.ts";
import { buildBatch, DailyBudget, expired, type InFlight, SendCursors } from "./link-window.ts";
import type { Command } from "./messages.ts";
import { createMqttClient, type LinkClient, type MqttConnectOptions } from "./mqtt-client.ts";
import { type AckContext, onAck } from "./on-ack.ts";
import { type CommandContext, onCommand } from "./on-command.ts";
import type { Outbox } from "./outbox/types.ts";
import { ackTopic, cmdTopic, stateTopic, upTopic } from "./topics.ts";

export interface LinkOptions {
  url: string;
  device: string;
  outbox: Outbox;
  deviceKey: KeyPair;
  cloudKey: KeyObject;
  clock: Clock;
  log?: Logger;
  mqtt?: MqttConnectOptions;
  /**
   * Makes the MQTT client (default: createMqttClient in sync/mqtt-client.ts with `url`, `device` and
   * `mqtt`). Unit tests pass a FakeMqttClient.
   */
  client?: () => LinkClient;
  batch?: { maxRecords?: number; maxBytes?: number; lingerMs?: number };
  /** Batches published and not yet acknowledged, at most. */
  window?: number;
  ackTimeoutMs?: number;
  compression?: Compression;
  reconnect?: { baseMs?: number; capMs?: number };
  /** Called for each verified, unexpired, not-yet-seen command. */
  onCommand?: (cmd: Command) => void | Promise<void>;
  /** Returns true the first time a command id is seen (persisted by the caller). */
  firstSight?: (id: string) => boolean;
  /** Metered links: bytes per 24 h (monotonic) for telemetry and media; alarms and evidence are exempt. */
  dailyBudget?: number;
}

export interface LinkStats {
  connected: boolean;
  /** The broker granted the ack and command subscriptions of this connection (commands reach us). */
  subscribed: boolean;
  inFlight: number;
  batchesSent: number;
  batchesResent: number;
  batchesAcked: number;
  batchesRejected: number;
  recordsAcked: number;
  bytesSent: number;
  reconnects: number;
  forgedAcks: number;
  forgedCommands: number;
  lastAckAt: number | null;
  /** Metered bytes sent in the current 24 h budget window. */
  budgetUsed: number;
}

/**
 * Store-and-forward over MQTT. Records leave the outbox only when a signed commit ack from the cloud
 * names them with the link the agent holds; a broker's PUBACK means nothing here (brokers drop
 * queued messages). Unacknowledged batches go again after `ackTimeoutMs`; the cloud de-duplicates.
 */
export class Link extends EventEmitter {
  private client?: LinkClient;
  private readonly inflight = new Map<string, InFlight>();
  /** What has been put in a batch (in flight or acked) since start. */
  private readonly cursors = new SendCursors();
  private readonly budget: DailyBudget;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly lingerMs: number;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private pumpTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private resendTimer?: NodeJS.Timeout;
  private stopped = false;
  private pumping = false;
  /** Away from the dock (a patrol robot): only classes up to maxPriority, `bytes` at most, until lifted. */
  private restriction?: { maxPriority: number; bytes: number; used: number };
  readonly stats: LinkStats = {
    connected: false,
    subscribed: false,
    inFlight: 0,
    batchesSent: 0,
    batchesResent: 0,
    batchesAcked: 0,
    batchesRejected: 0,
    recordsAcked: 0,
    bytesSent: 0,
    reconnects: 0,
    forgedAcks: 0,
    forgedCommands: 0,
    lastAckAt: null,
    budgetUsed: 0,
  };

  constructor(private readonly opts: LinkOptions) {
    super();
    this.log = opts.log ?? silentLogger;
    this.backoff = new Backoff(opts.reconnect?.baseMs ?? 1000, opts.reconnect?.capMs ?? 5000);
    this.maxRecords = opts.batch?.maxRecords ?? 2000;
    this.maxBytes = opts.batch?.maxBytes ?? 256 * 1024;
    this.lingerMs = opts.batch?.lingerMs ?? 1000;
    this.window = opts.window ?? 8;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
    this.budget = new DailyBudget(opts.dailyBudget);
  }

  start(): void {
    const o = this.opts;
    const client: LinkClient = o.client ? o.client() : createMqttClient(o.url, o.device, o.mqtt);
    this.client = client;
    client.on("connect", () => this.onConnect());
    client.on("close", () => this.onClose());
    client.on("error", (e) => this.log.warn({ err: e.message }, "mqtt error"));
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
    this.resendTimer = setInterval(
      () => this.resendExpired(),
      Math.max(250, Math.min(5000, this.ackTimeoutMs / 4)),
    );
  }

  private onConnect() {
    const { device } = this.opts;
    this.stats.connected = true;
    this.backoff.reset();
    this.log.info({ url: this.opts.url }, "connected");
    this.client!.subscribe([ackTopic(device), cmdTopic(device)], { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message }, "subscribe failed");
      else this.stats.subscribed = this.stats.connected;
    });
    this.client!.publish(
      stateTopic(device),
      JSON.stringify({ state: "online", at: this.opts.clock.now().wall }),
      { qos: 1, retain: true },
    );
    // Whatever was in flight when the link dropped goes again now.
    for (const f of this.inflight.values()) this.send(f, true);
    this.emit("connected");
    this.kick(0);
  }

  private onClose() {
    if (this.stats.connected) this.log.warn("disconnected");
    this.stats.connected = false;
    this.stats.subscribed = false;
    this.emit("disconnected");
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped) return;
      this.stats.reconnects++;
      this.client?.reconnect();
    }, delay);
  }

  /**
   * The network is likely back (a patrol robot docked, a modem came up): reconnect now instead of
   * waiting out the backoff, which may be minutes after a long outage.
   */
  reconnectNow(): void {
    if (this.stopped || this.stats.connected || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.backoff.reset();
    this.stats.reconnects++;
    this.client?.reconnect();
  }

  /**
   * Restricts sending to priority classes up to `maxPriority` (alarms only: PRIORITY.alarm) and at
   * most `bytes` of frames until lifted with undefined; then everything goes again. Records wait in
   * the outbox meanwhile, nothing is dropped.
   */
  restrict(r?: { maxPriority: number; bytes: number }): void {
    this.restriction = r ? { ...r, used: 0 } : undefined;
    if (!r) this.kick(0);
  }

  /** Bytes sent under the current restriction (undefined when none). */
  get restrictedBytes(): number | undefined {
    return this.restriction?.used;
  }

  /** Asks for a send soon (after the linger time, so small appends share a batch). */
  kick(delay = this.lingerMs): void {
    if (this.stopped || this.pumpTimer) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, delay);
  }

  private pump() {
    if (this.pumping || !this.stats.connected || this.stopped) return;
    this.pumping = true;
    try {
      while (this.inflight.size < this.window) {
        const r = this.restriction;
        const left = r ? r.bytes - r.used : this.maxBytes;
        if (left <= 0) break;
        const allowed = this.budget.allowed(this.opts.clock.mono());
        const maxPriority = r ? Math.min(r.maxPriority, allowed) : allowed;
        this.stats.budgetUsed = this.budget.used;
        const items = this.opts.outbox.pending(
          { maxRecords: this.maxRecords, maxBytes: Math.min(this.maxBytes, left), maxPriority },
          this.cursors.seqs,
          this.cursors.gaps,
        );
        if (items.length === 0) break;
        const f = buildBatch(items, this.opts);
        // A batch over what is left of a restricted budget waits for the dock (its records go then).
        if (r && f.frame.length > left) break;
        this.inflight.set(f.id, f);
        this.cursors.advance(items);
        this.send(f, false);
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "building a batch failed");
    } finally {
      this.pumping = false;
      this.stats.inFlight = this.inflight.size;
    }
  }

  private send(f: InFlight, resend: boolean) {
    if (!this.client || !this.stats.connected) return;
    f.sentAt = this.opts.clock.mono();
    f.attempts++;
    if (resend) this.stats.batchesResent++;
    else this.stats.batchesSent++;
    this.stats.bytesSent += f.frame.length;
    this.budget.spend(f);
    this.stats.budgetUsed = this.budget.used;
    if (this.restriction) this.restriction.used += f.frame.length;
    this.client.publish(upTopic(this.opts.device), f.frame, { qos: 1 }, (err) => {
      if (err) this.log.debug({ err: err.message, batch: f.id }, "publish failed; will resend");
    });
  }

  private resendExpired() {
    if (!this.stats.connected) return;
    for (const f of expired(this.inflight.values(), this.opts.clock.mono(), this.ackTimeoutMs)) {
      this.log.info({ batch: f.id, attempts: f.attempts }, "no ack in time; resending");
      this.send(f, true);
    }
  }

  /** One handler per incoming message type (on-ack.ts, on-command.ts), each with a narrow context. */
  private onMessage(topic: string, payload: Buffer) {
    if (topic === ackTopic(this.opts.device)) onAck(this.ackContext, payload);
    else if (topic === cmdTopic(this.opts.device)) onCommand(this.commandContext, payload);
  }

  private get ackContext(): AckContext {
    return {
      device: this.opts.device,
      cloudKey: this.opts.cloudKey,
      outbox: this.opts.outbox,
      clock: this.opts.clock,
      log: this.opts.log ?? silentLogger,
      stats: this.stats,
      inflight: this.inflight,
      cursors: this.cursors,
      retryAfterMs: Math.min(this.opts.ackTimeoutMs ?? 30_000, 60_000),
      kickAfter: (ms) => {
        if (ms === 0) this.kick(0);
        else setTimeout(() => this.kick(0), ms).unref();
      },
      emit: (event, arg) => this.emit(event, arg),
    };
  }

  private get commandContext(): CommandContext {
    return {
      device: this.opts.device,
      cloudKey: this.opts.cloudKey,
      clock: this.opts.clock,
      log: this.opts.log ?? silentLogger,
      stats: this.stats,
      firstSight: this.opts.firstSight,
      onCommand: this.opts.onCommand,
    };
  }

  /** Resolves once nothing is pending or in flight, or after `timeoutMs` (false). */
  async drained(timeoutMs: number): Promise<boolean> {
    const until = this.opts.clock.mono() + timeoutMs;
    while (this.opts.clock.mono() < until) {
      const pending = this.opts.outbox.status().reduce((n, s) => n + s.pending, 0);
      if (pending === 0 && this.inflight.size === 0) return true;
      this.kick(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pumpTimer);
    clearTimeout(this.reconnectTimer);
    clearInterval(this.resendTimer);
    const c = this.client;
    if (!c) return;
    if (c.connected) {
      // A link that died unnoticed never PUBACKs: stopping must not wait for it.
      await new Promise<void>((r) => {
        const t = setTimeout(r, 2000);
        c.publish(
          stateTopic(this.opts.device),
          JSON.stringify({ state: "offline" }),
          { qos: 1, retain: true },
          () => {
            clearTimeout(t);
            r();
          },
        );
      });
    }
    await c.endAsync(true);
  }
}
