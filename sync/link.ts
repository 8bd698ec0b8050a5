import type { KeyObject } from "node:crypto";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import mqtt, { type IClientOptions, type MqttClient, UniqueMessageIdProvider } from "mqtt";
import type { Clock } from "../core/clock.ts";
import type { KeyPair } from "../core/keys.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { Backoff } from "./backoff.ts";
import { signHead } from "./chain.ts";
import { type Compression, encodeBatch, noColumns, type OutgoingBatch } from "./codec.ts";
import { PRIORITY } from "./kinds.ts";
import { type Command, verifyAck, verifyCommand } from "./messages.ts";
import { gapKey, type Outbox, type PendingItem } from "./outbox/types.ts";
import { ackTopic, cmdTopic, stateTopic, upTopic } from "./topics.ts";

/** What an in-flight batch keeps of its runs: their ranges, not their records. */
const NO_COLUMNS = noColumns();

export interface LinkOptions {
  url: string;
  device: string;
  outbox: Outbox;
  deviceKey: KeyPair;
  cloudKey: KeyObject;
  clock: Clock;
  log?: Logger;
  mqtt?: Pick<
    IClientOptions,
    "username" | "password" | "ca" | "cert" | "key" | "rejectUnauthorized" | "keepalive"
  >;
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

interface InFlight {
  id: string;
  frame: Buffer;
  items: PendingItem[];
  sentAt: number;
  attempts: number;
  records: number;
  /** Counted against the daily budget (it carries telemetry or media). */
  metered: boolean;
}

export interface LinkStats {
  connected: boolean;
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
  private client?: MqttClient;
  private readonly inflight = new Map<string, InFlight>();
  /** Highest seq per stream already put in a batch (in flight or acked) since start. */
  private readonly cursors = new Map<string, number>();
  /** Gaps put in a batch since start (a gap may cover records already in flight, so not by cursor). */
  private readonly gapsSent = new Set<string>();
  private budgetWindowStart = 0;
  /** Away from the dock (a patrol robot): only classes up to maxPriority, `bytes` at most, until lifted. */
  private restriction?: { maxPriority: number; bytes: number; used: number };
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
  readonly stats: LinkStats = {
    connected: false,
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
    this.backoff = new Backoff(opts.reconnect?.baseMs ?? 1000, opts.reconnect?.capMs ?? 120_000);
    this.maxRecords = opts.batch?.maxRecords ?? 2000;
    this.maxBytes = opts.batch?.maxBytes ?? 256 * 1024;
    this.lingerMs = opts.batch?.lingerMs ?? 500;
    this.window = opts.window ?? 8;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
  }

  start(): void {
    const { device } = this.opts;
    const client = mqtt.connect(this.opts.url, {
      clientId: `barnlink-${device}`,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 15_000,
      queueQoSZero: false,
      // 16-bit packet ids must never collide however large the backlog [MQTT-2.3.1-2].
      messageIdProvider: new UniqueMessageIdProvider(),
      will: {
        topic: stateTopic(device),
        payload: Buffer.from(JSON.stringify({ state: "offline" })),
        qos: 1,
        retain: true,
      },
      ...this.opts.mqtt,
    });
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
        const items = this.opts.outbox.pending(
          {
            maxRecords: this.maxRecords,
            maxBytes: Math.min(this.maxBytes, left),
            maxPriority: r ? Math.min(r.maxPriority, this.priorityAllowed()) : this.priorityAllowed(),
          },
          this.cursors,
          this.gapsSent,
        );
        if (items.length === 0) break;
        const f = this.build(items);
        // A batch over what is left of a restricted budget waits for the dock (its records go then).
        if (r && f.frame.length > left) break;
        this.inflight.set(f.id, f);
        for (const it of items) {
          if (it.type === "gap") {
            this.gapsSent.add(gapKey(it.stream, it.from));
            continue;
          }
          if (it.last > (this.cursors.get(it.stream) ?? 0)) this.cursors.set(it.stream, it.last);
        }
        this.send(f, false);
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "building a batch failed");
    } finally {
      this.pumping = false;
      this.stats.inFlight = this.inflight.size;
    }
  }

  private build(items: PendingItem[]): InFlight {
    const { device, deviceKey } = this.opts;
    const segments: OutgoingBatch["segments"] = items.map((it) => {
      const end = it.type === "gap" ? it.to : it.last;
      const head = { hash: it.hash, sig: signHead(deviceKey.privateKey, device, it.stream, end, it.hash) };
      if (it.type === "gap") {
        return {
          type: "gap",
          stream: it.stream,
          from: it.from,
          to: it.to,
          reason: it.reason,
          prev: it.prev,
          head,
        };
      }
      return {
        type: "stored",
        stream: it.stream,
        first: it.first,
        prev: it.prev,
        columns: it.columns,
        head,
      };
    });
    const batch: OutgoingBatch = {
      device,
      id: randomBytes(16).toString("hex"),
      sentAt: this.opts.clock.now().wall,
      segments,
    };
    const frame = encodeBatch(batch, this.opts.compression ?? "brotli");
    const records = items.reduce((n, it) => n + (it.type === "records" ? it.columns.body.length : 0), 0);
    const metered = items.some((it) => it.type === "records" && it.priority >= PRIORITY.telemetry);
    // The frame is all that is resent; keep only each run's range (for a rewind), not its records.
    const kept = items.map(
      (it): PendingItem => (it.type === "records" ? { ...it, columns: NO_COLUMNS } : it),
    );
    return { id: batch.id, frame, items: kept, sentAt: 0, attempts: 0, records, metered };
  }

  /** Over the daily budget only alarms and evidence go; the window is 24 h of monotonic time. */
  private priorityAllowed(): number {
    const budget = this.opts.dailyBudget;
    if (budget === undefined) return PRIORITY.media;
    const now = this.opts.clock.mono();
    if (now - this.budgetWindowStart >= 86_400_000) {
      this.budgetWindowStart = now;
      this.stats.budgetUsed = 0;
    }
    return this.stats.budgetUsed >= budget ? PRIORITY.evidence : PRIORITY.media;
  }

  private send(f: InFlight, resend: boolean) {
    if (!this.client || !this.stats.connected) return;
    f.sentAt = this.opts.clock.mono();
    f.attempts++;
    if (resend) this.stats.batchesResent++;
    else this.stats.batchesSent++;
    this.stats.bytesSent += f.frame.length;
    if (f.metered) this.stats.budgetUsed += f.frame.length;
    if (this.restriction) this.restriction.used += f.frame.length;
    this.client.publish(upTopic(this.opts.device), f.frame, { qos: 1 }, (err) => {
      if (err) this.log.debug({ err: err.message, batch: f.id }, "publish failed; will resend");
    });
  }

  private resendExpired() {
    if (!this.stats.connected) return;
    const now = this.opts.clock.mono();
    for (const f of this.inflight.values()) {
      if (now - f.sentAt >= this.ackTimeoutMs) {
        this.log.info({ batch: f.id, attempts: f.attempts }, "no ack in time; resending");
        this.send(f, true);
      }
    }
  }

  private onMessage(topic: string, payload: Buffer) {
    const { device, cloudKey } = this.opts;
    if (topic === ackTopic(device)) {
      const v = verifyAck(cloudKey, payload, device);
      if (!v.ok) {
        this.stats.forgedAcks++;
        this.log.warn({ reason: v.reason }, "ignored an ack that does not verify");
        this.emit("forged-ack", v.reason);
        return;
      }
      const ack = v.msg;
      const f = this.inflight.get(ack.batch);
      if (ack.status === "committed") {
        let n = 0;
        for (const s of ack.segments) {
          const d = this.opts.outbox.acknowledge(s.stream, s.from, s.to, Buffer.from(s.hash, "hex"));
          if (d < 0)
            this.log.warn({ stream: s.stream, to: s.to }, "ack names a link we do not hold; ignored");
          else n += d;
        }
        this.stats.recordsAcked += n;
        this.stats.batchesAcked++;
        this.stats.lastAckAt = this.opts.clock.now().wall;
        this.inflight.delete(ack.batch);
        this.emit("acked", { batch: ack.batch, records: n });
      } else {
        this.stats.batchesRejected++;
        this.log.error(
          { batch: ack.batch, code: ack.code, reason: ack.reason },
          "cloud rejected a batch; will retry later",
        );
        this.emit("rejected", ack);
        if (f) {
          // Refused as not chaining: our stored records may have been altered on disk. The outbox
          // re-checks them and holds a stream that fails (its alarm says so) instead of resending it.
          if (ack.code === "BL_CHAIN_BROKEN")
            for (const it of f.items)
              if (it.type === "records" && this.opts.outbox.check?.(it.stream, it.first, it.last) === false)
                this.log.error({ stream: it.stream }, "stored records fail their chain: stream held");
          this.inflight.delete(ack.batch);
          // Rewind so the records are sent again after a pause; they are never dropped here.
          for (const it of f.items) {
            if (it.type === "gap") {
              this.gapsSent.delete(gapKey(it.stream, it.from));
              continue;
            }
            const cur = this.cursors.get(it.stream) ?? 0;
            if (cur >= it.first) this.cursors.set(it.stream, it.first - 1);
          }
          setTimeout(() => this.kick(0), Math.min(this.ackTimeoutMs, 60_000)).unref();
        }
      }
      this.stats.inFlight = this.inflight.size;
      this.kick(0);
      return;
    }
    if (topic === cmdTopic(device)) {
      const v = verifyCommand(cloudKey, payload, device);
      if (!v.ok) {
        this.stats.forgedCommands++;
        this.log.warn({ reason: v.reason }, "ignored a command that does not verify");
        return;
      }
      const cmd = v.msg;
      const now = this.opts.clock.now();
      if (now.synced && cmd.expires < now.wall) {
        this.log.warn({ id: cmd.id }, "ignored an expired command");
        return;
      }
      if (this.opts.firstSight && !this.opts.firstSight(cmd.id)) return;
      Promise.resolve(this.opts.onCommand?.(cmd)).catch((e) =>
        this.log.error({ id: cmd.id, err: (e as Error).message }, "command failed"),
      );
    }
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
