import { randomBytes } from "node:crypto";
import { ERR_NOT_FOUND } from "../../core/errors.ts";
import type { Db } from "../db/connect.ts";
import { ERR_ADAPT_STATE } from "./errors.ts";
import type { AdaptJobStatus, ModelsTables } from "./migration.ts";

export type AdaptJob = ModelsTables["model_adapt_jobs"];

/** A job as the API shows it. */
export function jobView(j: AdaptJob) {
  const parse = (s: string | null) => (s ? (JSON.parse(s) as Record<string, unknown>) : null);
  return {
    id: j.id,
    herd: j.herd,
    status: j.status,
    input: parse(j.input),
    requestedBy: j.requested_by,
    createdAt: Number(j.created_at),
    startedAt: j.started_at === null ? null : Number(j.started_at),
    finishedAt: j.finished_at === null ? null : Number(j.finished_at),
    attempts: j.attempts,
    progress: parse(j.progress),
    result: parse(j.result),
    error: j.error_code ? { code: j.error_code, message: j.error_message } : null,
  };
}

const T = "model_adapt_jobs" as const;

/** The job table (migration 0200). Every state change is a conditional update: two instances never both win. */
export class AdaptStore {
  async create(db: Db, herd: string, input: unknown, by: string, now: number): Promise<AdaptJob> {
    const row: AdaptJob = {
      id: `adapt-${now.toString(36)}-${randomBytes(4).toString("hex")}`,
      herd,
      status: "queued",
      input: JSON.stringify(input),
      requested_by: by,
      created_at: now,
      started_at: null,
      finished_at: null,
      heartbeat_at: null,
      worker: null,
      attempts: 0,
      progress: null,
      result: null,
      error_code: null,
      error_message: null,
    };
    await db.kysely.insertInto(T).values(row).execute();
    return row;
  }

  async get(db: Db, id: string): Promise<AdaptJob> {
    const j = await db.kysely.selectFrom(T).selectAll().where("id", "=", id).executeTakeFirst();
    if (!j) throw ERR_NOT_FOUND(`no adapt job ${id}`);
    return j;
  }

  list(db: Db, herd?: string, limit = 50): Promise<AdaptJob[]> {
    let q = db.kysely.selectFrom(T).selectAll();
    if (herd) q = q.where("herd", "=", herd);
    return q.orderBy("created_at", "desc").limit(limit).execute();
  }

  /** The herd's queued or running job, if any. */
  active(db: Db, herd: string): Promise<AdaptJob | undefined> {
    return db.kysely
      .selectFrom(T)
      .selectAll()
      .where("herd", "=", herd)
      .where("status", "in", ["queued", "running"])
      .executeTakeFirst();
  }

  running(db: Db): Promise<AdaptJob[]> {
    return db.kysely.selectFrom(T).selectAll().where("status", "=", "running").execute();
  }

  /** Takes the oldest queued job for `worker`; undefined when the queue is empty. */
  async claim(db: Db, worker: string, now: number): Promise<AdaptJob | undefined> {
    for (;;) {
      const next = await db.kysely
        .selectFrom(T)
        .selectAll()
        .where("status", "=", "queued")
        .orderBy("created_at")
        .orderBy("id")
        .limit(1)
        .executeTakeFirst();
      if (!next) return undefined;
      const r = await db.kysely
        .updateTable(T)
        .set({
          status: "running",
          worker,
          started_at: now,
          heartbeat_at: now,
          attempts: next.attempts + 1,
          progress: JSON.stringify({ stage: "queued" }),
        })
        .where("id", "=", next.id)
        .where("status", "=", "queued")
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1)
        return { ...next, status: "running", worker, attempts: next.attempts + 1 };
    }
  }

  /** Beats the heartbeat; false when the job is no longer this worker's running job (cancelled). */
  async heartbeat(db: Db, id: string, worker: string, now: number): Promise<boolean> {
    const r = await db.kysely
      .updateTable(T)
      .set({ heartbeat_at: now })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("worker", "=", worker)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async progress(db: Db, id: string, worker: string, p: Record<string, unknown>): Promise<void> {
    await db.kysely
      .updateTable(T)
      .set({ progress: JSON.stringify(p), heartbeat_at: Date.now() })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("worker", "=", worker)
      .execute();
  }

  async finish(
    db: Db,
    id: string,
    worker: string,
    f: {
      status: Extract<AdaptJobStatus, "succeeded" | "refused" | "failed">;
      result?: unknown;
      error?: { code: string; message: string };
      now: number;
    },
  ): Promise<void> {
    await db.kysely
      .updateTable(T)
      .set({
        status: f.status,
        finished_at: f.now,
        result: f.result === undefined ? null : JSON.stringify(f.result),
        error_code: f.error?.code ?? null,
        error_message: f.error?.message.slice(0, 2000) ?? null,
      })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("worker", "=", worker)
      .execute();
  }

  /** A running job handed back to the queue (graceful stop of its instance). */
  async requeue(db: Db, id: string, worker: string): Promise<void> {
    await db.kysely
      .updateTable(T)
      .set({ status: "queued", worker: null, heartbeat_at: null, progress: null })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("worker", "=", worker)
      .execute();
  }

  /** A running job whose process is gone: re-queued, or failed with `err`. True if this call changed it. */
  async orphaned(db: Db, j: AdaptJob, err: { code: string; message: string } | undefined, now: number) {
    let q = db.kysely
      .updateTable(T)
      .set(
        err
          ? { status: "failed", finished_at: now, error_code: err.code, error_message: err.message }
          : { status: "queued", worker: null, heartbeat_at: null, progress: null },
      )
      .where("id", "=", j.id)
      .where("status", "=", "running");
    q =
      j.heartbeat_at === null
        ? q.where("heartbeat_at", "is", null)
        : q.where("heartbeat_at", "=", j.heartbeat_at);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Cancels a queued or running job (a running one's worker stops at its next heartbeat). */
  async cancel(db: Db, id: string, now: number): Promise<AdaptJob> {
    const j = await this.get(db, id);
    if (j.status !== "queued" && j.status !== "running")
      throw ERR_ADAPT_STATE(`adapt job ${id} has already ended (${j.status})`);
    const r = await db.kysely
      .updateTable(T)
      .set({ status: "cancelled", finished_at: now })
      .where("id", "=", id)
      .where("status", "=", j.status)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return this.cancel(db, id, now);
    return this.get(db, id);
  }
}
