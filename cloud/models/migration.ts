import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../db/connect.ts";

/**
 * Herd adaptation jobs (cloud/models/adapt-worker.ts): one row per job, from queued to an end
 * state. `worker` and `heartbeat_at` let a restarted or other instance see that a running job's
 * process is gone (it is re-queued, or failed after `attempts` runs).
 */
export function models0200(dialect: Dialect): Migration {
  const big = dialect === "postgres" ? "bigint" : "integer";
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("model_adapt_jobs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("herd", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("input", "text", (c) => c.notNull())
        .addColumn("requested_by", "text", (c) => c.notNull())
        .addColumn("created_at", big, (c) => c.notNull())
        .addColumn("started_at", big)
        .addColumn("finished_at", big)
        .addColumn("heartbeat_at", big)
        .addColumn("worker", "text")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("progress", "text")
        .addColumn("result", "text")
        .addColumn("error_code", "text")
        .addColumn("error_message", "text")
        .execute();
      await db.schema
        .createIndex("model_adapt_jobs_status")
        .on("model_adapt_jobs")
        .columns(["status", "created_at"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("model_adapt_jobs").execute();
    },
  };
}

export type AdaptJobStatus = "queued" | "running" | "succeeded" | "refused" | "failed" | "cancelled";

export interface ModelsTables {
  model_adapt_jobs: {
    id: string;
    herd: string;
    status: AdaptJobStatus;
    /** The request as validated (JSON). */
    input: string;
    requested_by: string;
    created_at: number;
    started_at: number | null;
    finished_at: number | null;
    heartbeat_at: number | null;
    worker: string | null;
    attempts: number;
    /** JSON: {stage, step, steps, epoch, epochs, loss, etaMs}. */
    progress: string | null;
    /** JSON: the card's figures and the published package. */
    result: string | null;
    error_code: string | null;
    error_message: string | null;
  };
}
