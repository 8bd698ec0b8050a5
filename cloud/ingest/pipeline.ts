import { deviceOfTopic } from "../../sync/topics.ts";
import type { IngestResult, Prepared } from "./ingest.ts";

/** The part of `Ingest` the pipeline drives. */
export interface PipelineIngest {
  prepare(topic: string, payload: Buffer): Promise<Prepared>;
  complete(prepared: Prepared[]): Promise<IngestResult[]>;
  /** Groups the ingest can commit at once (its database connections for it); 1 when absent. */
  readonly lanes?: number;
}

export interface PipelineOptions {
  /** Batches taken from the broker and not yet answered, at most (the bound on memory and on redelivery after a crash). */
  maxInFlight?: number;
  /** Batches committed in one database transaction, at most. */
  maxGroup?: number;
  /** Groups in flight at once, each on its own connection (default: the ingest's `lanes`, else 1). */
  lanes?: number;
}

interface Entry {
  prepared: Promise<Prepared>;
  resolve(r: IngestResult): void;
  reject(e: unknown): void;
}

/**
 * The ingest queue between the broker and the database. Each batch is decoded and verified as it
 * arrives; one committer takes everything verified so far (up to `maxGroup`) into one transaction,
 * so the group grows by itself while the database is busy: one batch when idle, many under load.
 * `full` tells the subscriber to stop reading from the broker (back-pressure): the broker, and then
 * the gateways' own outboxes, hold the rest.
 *
 * With `lanes` > 1 (PostgreSQL), that many committers run side by side, each with its own queue and
 * its own transaction. A device's batches always go to the same lane (by its topic), so they commit
 * in the order they arrived, as with one committer; lanes never share a stream row, so they never
 * wait on each other's locks.
 */
export class IngestPipeline {
  readonly maxInFlight: number;
  readonly maxGroup: number;
  readonly lanes: number;
  private readonly queues: Entry[][];
  private readonly running: boolean[];
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  readonly stats = { groups: 0, batches: 0, largestGroup: 0 };

  constructor(
    private readonly ingest: PipelineIngest,
    o: PipelineOptions = {},
  ) {
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 256);
    this.maxGroup = Math.max(1, o.maxGroup ?? 64);
    this.lanes = Math.max(1, Math.floor(o.lanes ?? ingest.lanes ?? 1));
    this.queues = Array.from({ length: this.lanes }, () => []);
    this.running = this.queues.map(() => false);
  }

  /** The lane of a topic's device: the same one every time. */
  laneOf(topic: string): number {
    if (this.lanes === 1) return 0;
    const key = deviceOfTopic(topic)?.device ?? topic;
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    return (h >>> 0) % this.lanes;
  }

  /** Batches taken and not yet answered. */
  get depth(): number {
    return this.inFlight;
  }

  get full(): boolean {
    return this.inFlight >= this.maxInFlight;
  }

  /** Resolves once there is room for another batch. */
  async whenNotFull(): Promise<void> {
    while (this.full) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves with the batch's result once its commit is durable (or it is rejected). */
  push(topic: string, payload: Buffer): Promise<IngestResult> {
    this.inFlight++;
    return new Promise<IngestResult>((resolve, reject) => {
      const lane = this.laneOf(topic);
      this.queues[lane]!.push({ prepared: this.ingest.prepare(topic, payload), resolve, reject });
      void this.pump(lane);
    });
  }

  /** Resolves when everything taken so far is answered. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private async pump(lane: number): Promise<void> {
    if (this.running[lane]) return;
    this.running[lane] = true;
    const queue = this.queues[lane]!;
    try {
      while (queue.length > 0) {
        const group = queue.splice(0, this.maxGroup);
        try {
          const results = await this.ingest.complete(await Promise.all(group.map((e) => e.prepared)));
          for (const [i, e] of group.entries()) e.resolve(results[i]!);
        } catch (err) {
          for (const e of group) e.reject(err);
        }
        this.stats.groups++;
        this.stats.batches += group.length;
        this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length);
        this.inFlight -= group.length;
        const w = this.waiters;
        this.waiters = [];
        for (const wake of w) wake();
        // Yield to I/O between groups: on SQLite every statement is synchronous, so a backlog would
        // otherwise drain in one run of promise callbacks, with HTTP and MQTT sockets unread.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running[lane] = false;
    }
  }
}
