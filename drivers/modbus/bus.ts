import type { Logger } from "../../core/log.ts";
import { Backoff, sleep } from "../common/backoff.ts";
import { ERR_MODBUS_EXCEPTION, ERR_MODBUS_LINK } from "../errors.ts";
import type { Table } from "./config.ts";
import type { ModbusLink } from "./link.ts";
import { sleeper } from "./sleeper.ts";

export type FaultKind = "timeout" | "crc" | "exception" | "link";

export interface BusOptions {
  gap: number;
  retries: number;
  reconnectMin: number;
  reconnectMax: number;
  log: Logger;
  /** Every failed attempt, by unit: the per-device error counters. */
  onFault(kind: FaultKind, unit: number): void;
  onRetry(unit: number): void;
  onLink(up: boolean, detail: string): void;
}

const kindOf = (e: unknown): FaultKind => {
  const code = (e as { code?: string }).code;
  if (code === "BL_MODBUS_TIMEOUT") return "timeout";
  if (code === "BL_MODBUS_EXCEPTION") return "exception";
  if (code === "BL_MODBUS_LINK") return "link";
  return "crc";
};

/**
 * One Modbus bus: a single link shared by its devices, with every request serialised through one
 * queue. A serial line is half-duplex with one master (Modbus over Serial Line V1.02 §2.1), so two
 * requests in flight corrupt each other — Node-RED's parallel unit ids time out for this reason.
 * Between frames the bus stays quiet for `gap` ms (at least the 3.5-character silence of §2.5.1.1):
 * the next request waits out the silence, the caller of the last one does not (its answer is
 * decoded, stamped and stored at once).
 */
export class ModbusBus {
  private link: ModbusLink | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();
  /** The inter-frame silence: one abort listener for every wait, not one per request. */
  private readonly quietSleep = sleeper(this.abort.signal);
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** performance.now() before which no frame may start (the inter-frame silence after the last one). */
  private quietUntil = 0;

  constructor(
    private readonly makeLink: () => ModbusLink,
    private readonly o: BusOptions,
  ) {}

  get up(): boolean {
    return this.link !== undefined;
  }

  /** Resolves when the link is open, or after `ms` (the caller then sees link-down errors). */
  async ready(ms: number, signal?: AbortSignal): Promise<void> {
    const end = Date.now() + ms;
    while (!this.up && Date.now() < end && !signal?.aborted) await sleep(20, signal);
  }

  /** Opens the link in the background and keeps reopening it, with backoff, whenever it drops. */
  start(): void {
    this.loop ??= this.connectLoop();
  }

  /** Why the last open failed, while the link is down. */
  private linkError?: string;

  private async connectLoop(): Promise<void> {
    const backoff = new Backoff(this.o.reconnectMin, this.o.reconnectMax);
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const link = this.makeLink();
      try {
        await link.open();
      } catch (e) {
        const delay = backoff.next();
        this.linkError = (e as Error).message;
        this.o.log.warn({ err: (e as Error).message, retryInMs: delay }, "modbus link open failed");
        if (backoff.attempts === 1) this.o.onLink(false, (e as Error).message);
        await sleep(delay, signal);
        continue;
      }
      if (signal.aborted) return void (await link.close());
      backoff.reset();
      this.linkError = undefined;
      const lost = new Promise<string>((resolve) => {
        link.onClose(resolve);
        this.wake = () => resolve("recycled");
      });
      this.link = link;
      this.o.onLink(true, "open");
      const reason = await lost;
      this.link = undefined;
      await link.close().catch(() => {});
      if (signal.aborted) return;
      this.o.log.warn({ reason }, "modbus link lost; reopening");
      this.o.onLink(false, reason);
      await sleep(backoff.next(), signal);
    }
  }

  /** Drops the link and opens a new one (a port that stopped answering every device). */
  recycle(): void {
    const l = this.link;
    this.link = undefined;
    if (l) void l.close().then(() => this.wake?.());
  }

  /**
   * Queues one read; resolves with its words or rejects with the last coded error. `sent` is called
   * as each attempt's request goes out: the caller stamps its capture time there (the moment the
   * device was asked), not after the answer and the bus's silence.
   */
  read(
    unit: number,
    table: Table,
    address: number,
    count: number,
    retries = this.o.retries,
    sent?: () => void,
  ): Promise<number[]> {
    const run = async () => {
      let last: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        const quiet = this.quietUntil - performance.now();
        if (quiet > 0) await this.quietSleep(quiet);
        if (this.abort.signal.aborted) throw ERR_MODBUS_LINK("bus stopped");
        const link = this.link;
        if (!link) {
          // Name the cause (a wrong port path, a busy adapter): that is what an installer needs.
          throw ERR_MODBUS_LINK(`unit ${unit}: link is down (${this.linkError ?? "reconnecting"})`);
        }
        if (attempt > 0) this.o.onRetry(unit);
        try {
          sent?.();
          return await link.read(unit, table, address, count);
        } catch (e) {
          last = e;
          const kind = kindOf(e);
          this.o.onFault(kind, unit);
          // An exception is the device's considered answer; asking again gives the same one.
          if (kind === "exception" || kind === "link" || ERR_MODBUS_EXCEPTION.is(e)) break;
        } finally {
          this.quietUntil = performance.now() + this.o.gap;
        }
      }
      throw last;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => {});
    return p;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
    await this.tail;
  }
}
