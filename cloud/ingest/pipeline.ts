import type { IngestResult, Prepared } from "./ingest.ts";

/** The part of `Ingest` the pipeline drives. */
export interface PipelineIngest {
  prepare(topic: string, payload: Buffer): Promise<Prepared>;
  complete(prepared: Prepared[]): Promise<IngestResult[]>;
}

export interface PipelineOptions {
  /** Batches taken from the broker and not yet answered, at most (the bound on memory and on redelivery after a crash). */
  maxInFlight?: number;
  /** Batches committed in one database transaction, at most. */
  maxGroup?: number;
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
 */
export class IngestPipeline {
  readonly maxInFlight: number;
  readonly maxGroup: number;
  private readonly queue: Entry[] = [];
  private inFlight = 0;
  private running = false;
  private waiters: Array<() => void> = [];
  readonly stats = { groups: 0, batches: 0, largestGroup: 0 };

  constructor(
    private readonly ingest: PipelineIngest,
    o: PipelineOptions = {},
  ) {
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 256);
    this.maxGroup = Math.max(1, o.maxGroup ?? 64);
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
      this.queue.push({ prepared: this.ingest.prepare(topic, payload), resolve, reject });
      void this.pump();
    });
  }

  /** Resolves when everything taken so far is answered. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.maxGroup);
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
      this.running = false;
    }
  }
}
