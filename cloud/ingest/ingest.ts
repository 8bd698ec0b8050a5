import { createHash } from "node:crypto";
import {
  BarnlinkError,
  ERR_BAD_BATCH,
  ERR_CHAIN_BROKEN,
  ERR_TOPIC_MISMATCH,
  ERR_UNREGISTERED_DEVICE,
} from "../../core/errors.ts";
import type { KeyPair } from "../../core/keys.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { type Batch, decodeBatch } from "../../sync/codec.ts";
import { type Ack, signMessage } from "../../sync/messages.ts";
import { deviceOfTopic } from "../../sync/topics.ts";
import type { Db } from "../db/connect.ts";
import { DeviceKeys } from "../devices.ts";
import { commitGroup, type GroupItem, type GroupOutcome } from "./group-commit.ts";
import { DEFAULT_REJECT_CAPS, type RejectCaps, RejectLog } from "./reject-log.ts";
import { TimeCorrector } from "./time-correction.ts";
import { type VerifiedSegment, verifyWithAny } from "./verify.ts";

export interface IngestCounters {
  batches: number;
  records: number;
  duplicates: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Capture → commit time of the newest synced record of the last committed batch (ms). */
  lagMs: number;
}

export interface IngestResult {
  /** The signed ack to publish on the device's ack topic, if any. */
  ack?: Ack;
  rejected?: { code: string; reason: string };
}

/** A batch that verified and waits for its commit. */
interface ToCommit extends GroupItem {
  kind: "commit";
  topic: string;
  topicDevice: string | null;
  payload: Buffer;
  batch: Batch;
}

/** What `prepare` gives: answered already (rejected before any write), or ready to commit. */
export type Prepared = { kind: "done"; result: IngestResult } | ToCommit;

/**
 * The up-batch handler: decode → look up the device → verify → commit → ack. Anything that fails
 * is kept in `rejects` with its code and reason, counted, and never throws out of `handle`.
 */
export class Ingest {
  readonly counters: IngestCounters = {
    batches: 0,
    records: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByCode: {},
    lagMs: 0,
  };
  readonly keys: DeviceKeys;
  readonly rejects: RejectLog;
  private readonly time: TimeCorrector;
  constructor(
    private readonly db: Db,
    private readonly cloudKey: KeyPair,
    private readonly log: Logger = silentLogger,
    private readonly now: () => number = Date.now,
    caps: RejectCaps = DEFAULT_REJECT_CAPS,
  ) {
    this.keys = new DeviceKeys(db);
    this.time = new TimeCorrector(db, now);
    this.rejects = new RejectLog(db, now, caps, log);
  }

  /**
   * Groups committed at once (pipeline.ts lanes): on PostgreSQL one per connection of the ingest's
   * pool but one, which stays for device-key look-ups, the reject log and after-commit work; on
   * SQLite 1 (one connection, one writer).
   */
  get lanes(): number {
    return this.db.dialect === "postgres" ? Math.max(1, (this.db.poolSize ?? 2) - 1) : 1;
  }

  /** Runs after each commit (outside its transaction), e.g. closing commands the device confirmed. */
  onCommitted?: (device: string, segments: VerifiedSegment[]) => Promise<void>;

  /** Decodes, verifies and commits one up-batch. */
  async handle(topic: string, payload: Buffer): Promise<IngestResult> {
    return (await this.handleMany([{ topic, payload }]))[0]!;
  }

  /**
   * Several up-batches at once: each is decoded and verified on its own, then all that verified are
   * committed in one group (one transaction, a savepoint each: see group-commit.ts), then each is
   * answered. One batch's rejection never affects another's outcome.
   */
  async handleMany(messages: Array<{ topic: string; payload: Buffer }>): Promise<IngestResult[]> {
    return this.complete(await Promise.all(messages.map((m) => this.prepare(m.topic, m.payload))));
  }

  /** Commits what `prepare` gave, as one group, and answers each (in the same order). */
  async complete(prepared: Prepared[]): Promise<IngestResult[]> {
    const commits = prepared.filter((p): p is ToCommit => p.kind === "commit");
    const outcomes = await commitGroup(this.db, commits, this.now());
    const byPrepared = new Map(commits.map((c, i) => [c, outcomes[i]!]));
    // After commit, outside its transaction, the whole group at once: a failure leaves times
    // uncorrected (the next batch of the boot retries), never data lost. It sees the segments as
    // stored (a restarted generation's name and seqs: generations.ts).
    const committed = commits.flatMap((c, i) => {
      const o = outcomes[i]!;
      return o.ok ? [{ device: c.device, segments: o.result.segments }] : [];
    });
    await this.time
      .afterCommitMany(committed)
      .catch((e) => this.log.warn({ err: (e as Error).message }, "time correction failed"));
    return Promise.all(
      prepared.map((p) => (p.kind === "done" ? p.result : this.finish(p, byPrepared.get(p)!))),
    );
  }

  /** Decode → look up the device → verify: everything before the database write. */
  async prepare(topic: string, payload: Buffer): Promise<Prepared> {
    const t = deviceOfTopic(topic);
    const topicDevice = t?.device ?? null;
    let batch: Batch | undefined;
    try {
      if (!t || t.channel !== "up") throw ERR_BAD_BATCH(`not an up topic: ${topic}`);
      batch = decodeBatch(payload);
      if (batch.device !== t.device)
        throw ERR_TOPIC_MISMATCH(`batch says device '${batch.device}' but came on ${topic}`);
      const keys = await this.keys.verifiers(batch.device, this.now());
      // No signed answer: nothing here verified against a device key, so anyone could cause it.
      if (keys.length === 0)
        throw ERR_UNREGISTERED_DEVICE(
          `device '${batch.device}' is not registered (or was revoked); register its public key first`,
        );
      const segments = verifyWithAny(batch, keys);
      return { kind: "commit", topic, topicDevice, payload, batch, device: batch.device, segments };
    } catch (e) {
      return { kind: "done", result: await this.failed(topic, topicDevice, payload, batch, e) };
    }
  }

  /** After the group commit: count, correct times, run hooks, answer with a signed ack. */
  private async finish(p: ToCommit, outcome: GroupOutcome): Promise<IngestResult> {
    if (!outcome.ok) return this.failed(p.topic, p.topicDevice, p.payload, p.batch, outcome.error);
    const res = outcome.result;
    this.counters.batches++;
    this.counters.records += res.inserted;
    this.counters.duplicates += res.duplicates;
    const newest = newestSynced(p.segments);
    if (newest !== undefined) this.counters.lagMs = Math.max(0, this.now() - newest);
    // The hooks see the segments as stored (a restarted generation's name and seqs: generations.ts).
    await this.onCommitted?.(p.device, res.segments).catch((e) =>
      this.log.warn({ err: (e as Error).message }, "after-commit hook failed"),
    );
    return { ack: this.ack(p.device, p.batch.id, "committed", res.ranges) };
  }

  private async failed(
    topic: string,
    topicDevice: string | null,
    payload: Buffer,
    batch: Batch | undefined,
    e: unknown,
  ): Promise<IngestResult> {
    const err =
      e instanceof BarnlinkError
        ? e
        : ERR_BAD_BATCH(`unexpected failure: ${(e as Error)?.message ?? String(e)}`, undefined, e);
    if (!(e instanceof BarnlinkError)) this.log.error({ err: (e as Error)?.stack }, "ingest failed");
    await this.reject(topic, topicDevice, payload, err);
    // A signed answer only where the device's own signature verified: records that do not chain
    // to a head the device signed (BL_CHAIN_BROKEN; the signature is checked first) mean its stored
    // records were altered or damaged, and it is told so it re-checks them and holds the stream.
    // The same result comes from anyone flipping a byte of a genuine batch, so the ack names the
    // frame's SHA-256 and the device acts only on a rejection of bytes it sent itself. Nothing else
    // is answered: an unregistered id or a bad signature proves nothing about who sent it.
    if (batch && ERR_CHAIN_BROKEN.is(err))
      return {
        rejected: { code: err.code, reason: err.message },
        ack: this.ack(
          batch.device,
          batch.id,
          "rejected",
          [],
          err,
          createHash("sha256").update(payload).digest("hex"),
        ),
      };
    return { rejected: { code: err.code, reason: err.message } };
  }

  private ack(
    device: string,
    batch: string,
    status: Ack["status"],
    segments: Ack["segments"],
    err?: BarnlinkError,
    frame?: string,
  ): Ack {
    return signMessage<Ack>(this.cloudKey.privateKey, {
      v: 1,
      type: "ack",
      device,
      batch,
      status,
      segments,
      ...(err ? { code: err.code, reason: err.message } : {}),
      ...(frame ? { frame } : {}),
      at: this.now(),
    });
  }

  private async reject(topic: string, device: string | null, payload: Buffer, err: BarnlinkError) {
    this.counters.rejected++;
    this.counters.rejectedByCode[err.code] = (this.counters.rejectedByCode[err.code] ?? 0) + 1;
    // Logged only when sampled: a flood must not become a flood of log lines either.
    if (await this.rejects.record(topic, device, payload, err))
      this.log.warn(
        { topic: topic.slice(0, 200), code: err.code, reason: err.message },
        "rejected a message",
      );
  }
}

function newestSynced(segments: VerifiedSegment[]): number | undefined {
  let t: number | undefined;
  for (const s of segments) {
    if (s.type !== "records") continue;
    const r = s.records[s.records.length - 1];
    if (r?.t.synced && (t === undefined || r.t.wall > t)) t = r.t.wall;
  }
  return t;
}
