import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ERR_CONFLICT } from "../../core/errors.ts";
import { CLI_ENTRY } from "../../core/paths.ts";
import type { CloudContext } from "../context.ts";
import {
  extractFrames,
  type FramesInput,
  labelledSightings,
  requireFrames,
  resolveHerdFolder,
  unpackModel,
} from "./adapt-data.ts";
import { type AdaptJob, AdaptStore } from "./adapt-store.ts";
import { ERR_ADAPT_FAILED, ERR_ADAPT_INTERRUPTED, ERR_ADAPT_NO_FRAMES, ERR_ADAPT_TIMEOUT } from "./errors.ts";
import { resolveUpload } from "./herd-upload.ts";
import { publishModel } from "./publish.ts";
import { expireUploads, UPLOAD_RETENTION_MS } from "./upload-store.ts";

/** A job as requested (validated by the route): what to train on, from which model, with what. */
export interface AdaptInput {
  herd: string;
  frames: FramesInput;
  /** "shipped" or a published version: the model fine-tuned. */
  base: string;
  /** "shipped" or a published version: the model to beat (resolved when the job is created). */
  current: string;
  version: string;
  training: Partial<
    Record<
      | "epochs"
      | "batch"
      | "lr"
      | "margin"
      | "scale"
      | "holdout"
      | "shots"
      | "seed"
      | "freeze"
      | "views"
      | "patience"
      | "budgetMinutes",
      number
    >
  >;
}

export interface AdaptWorkerOptions {
  modelsDir: string;
  workDir: string;
  herdDataDir?: string;
  maxMinutes: number;
  /** An uploaded herd archive at most, as sent and as unpacked (default 1 GiB). */
  maxUploadBytes?: number;
  /** This instance's name (cloud `instance`): a job it held before a restart is known to be orphaned. */
  worker: string;
  /** The `barnlink` command to run training with (default: this installation's CLI entry). */
  command?: string[];
  /** A running job whose heartbeat is older than this is orphaned (its instance died). */
  staleMs?: number;
  /** How often the queue is polled (jobs queued by another instance). */
  pollMs?: number;
  /** Runs a job may take (restarts resume it from the start) before it is failed. */
  maxAttempts?: number;
  /** Herd uploads older than this (ms) and used by no queued or running job are removed; 0 keeps them. */
  uploadRetention?: number;
  /** How often expired uploads are looked for (default hourly, and at start). */
  uploadSweepMs?: number;
}

/**
 * The job's `training` options as `model adapt` flags. Without a `budgetMinutes`, training gets 3/4
 * of `adapt.maxMinutes`: it then ends with the best model so far (and its figures) instead of the
 * whole job being stopped (BL_ADAPT_TIMEOUT) while loading, validating and signing still wait.
 */
export function trainingArgs(t: AdaptInput["training"], maxMinutes: number): string[] {
  const all = { budgetMinutes: Math.max(0.1, maxMinutes * 0.75), ...t };
  return Object.entries(all).flatMap(([k, v]) => [
    `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(v),
  ]);
}

interface ChildLine {
  event: "progress" | "result" | "error";
  [k: string]: unknown;
}

/**
 * Herd adaptation jobs, one at a time per cloud instance: training takes a core for minutes, and
 * two jobs would only slow each other down. Training runs in a child process (`barnlink model
 * adapt --json`): it is CPU-bound and synchronous, and in-process it would stall the API. A job is
 * claimed with a conditional update (so instances sharing a database never run one twice), beats a
 * heartbeat while it runs, and is re-queued when its instance restarts or disappears (after
 * `maxAttempts` runs it is failed, BL_ADAPT_INTERRUPTED). Nothing is published unless the child
 * reports a model that beats the current one; a worse one ends the job "refused".
 */
export class AdaptWorker {
  readonly store: AdaptStore;
  private ctx: CloudContext | undefined;
  private busy = false;
  private stopped = false;
  private child: ChildProcess | undefined;
  private running: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly staleMs: number;
  private readonly maxAttempts: number;

  constructor(readonly o: AdaptWorkerOptions) {
    this.store = new AdaptStore();
    this.staleMs = o.staleMs ?? 60_000;
    this.maxAttempts = o.maxAttempts ?? 3;
  }

  /** Starts the worker: recovers jobs orphaned by a restart, then polls the queue. */
  start(ctx: CloudContext): { stop(): Promise<void> } {
    this.ctx = ctx;
    this.stopped = false;
    const first = this.recover(true).then(() => this.poll());
    this.timer = setInterval(() => {
      this.recover(false)
        .then(() => this.poll())
        .catch((e) => ctx.log.error({ err: (e as Error).message }, "adapt queue poll failed"));
    }, this.o.pollMs ?? 5000);
    this.timer.unref();
    first.catch((e) => ctx.log.error({ err: (e as Error).message }, "adapt queue start failed"));
    this.sweepUploads();
    this.sweepTimer = setInterval(() => this.sweepUploads(), this.o.uploadSweepMs ?? 3_600_000);
    this.sweepTimer.unref();
    return { stop: () => this.stop() };
  }

  /** Retention of herd uploads (upload-store.ts expireUploads). */
  private sweepUploads(): void {
    const ctx = this.ctx;
    if (!ctx || this.stopped || this.sweeping) return;
    const retention = this.o.uploadRetention ?? UPLOAD_RETENTION_MS;
    this.sweeping = expireUploads(ctx.db, this.o.herdDataDir, retention, Date.now())
      .then(
        (ids) => {
          if (ids.length) ctx.log.info({ uploads: ids }, "expired herd uploads removed");
        },
        (e) => ctx.log.error({ err: (e as Error).message }, "herd upload retention sweep failed"),
      )
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  /** Wakes the worker (a job was queued). */
  kick(): void {
    if (this.ctx && !this.stopped)
      this.poll().catch((e) => this.ctx?.log.error({ err: (e as Error).message }, "adapt job failed"));
  }

  /** Cancels a job: a queued one at once, a running one here by killing its process (elsewhere at its next heartbeat). */
  async cancel(db: CloudContext["db"], id: string): Promise<AdaptJob> {
    const job = await this.store.cancel(db, id, Date.now());
    if (this.running === id) this.child?.kill("SIGKILL");
    return job;
  }

  private async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.sweepTimer);
    await this.sweeping;
    const id = this.running;
    if (id && this.ctx) {
      // A graceful stop hands the job back to the queue: this or another instance resumes it.
      await this.store.requeue(this.ctx.db, id, this.o.worker);
      this.child?.kill("SIGKILL");
    }
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
  }

  /** Running jobs whose process is gone: this instance's from before a restart, or any with a stale heartbeat. */
  private async recover(atStart: boolean): Promise<void> {
    const ctx = this.ctx!;
    const now = Date.now();
    for (const j of await this.store.running(ctx.db)) {
      const mine = j.worker === this.o.worker && j.id !== this.running;
      const stale = (j.heartbeat_at ?? 0) < now - this.staleMs;
      if (!((atStart && mine) || stale)) continue;
      const fail = j.attempts >= this.maxAttempts;
      const err = ERR_ADAPT_INTERRUPTED(
        `interrupted by a cloud restart ${j.attempts} times; not resumed again`,
      );
      const done = await this.store.orphaned(ctx.db, j, fail ? err : undefined, now);
      if (done)
        ctx.log.warn(
          { job: j.id, worker: j.worker, attempts: j.attempts, failed: fail },
          "adapt job orphaned",
        );
    }
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopped || !this.ctx) return;
    this.busy = true;
    try {
      for (;;) {
        if (this.stopped) return;
        const job = await this.store.claim(this.ctx.db, this.o.worker, Date.now());
        if (!job) return;
        this.running = job.id;
        try {
          await this.run(job);
        } finally {
          this.running = undefined;
          this.child = undefined;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async run(job: AdaptJob): Promise<void> {
    const ctx = this.ctx!;
    const db = ctx.db;
    const input = JSON.parse(job.input) as AdaptInput;
    const dir = resolve(this.o.workDir, job.id);
    const beat = setInterval(
      () => {
        this.store
          .heartbeat(db, job.id, this.o.worker, Date.now())
          .then((alive) => {
            if (!alive) this.child?.kill("SIGKILL"); // cancelled (or taken over): stop training
          })
          .catch(() => {});
      },
      Math.max(500, this.staleMs / 4),
    );
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await this.store.progress(db, job.id, this.o.worker, { stage: "preparing" });
      const { herdDir, data } = await this.prepare(input, dir);
      const modelArg = (v: string, name: string) =>
        v === "shipped"
          ? []
          : [`--${name}`, unpackModel(this.o.modelsDir, v, ctx.key.publicKey, join(dir, name))];
      const args = [
        "model",
        "adapt",
        "--json",
        "--herd",
        herdDir,
        "--out",
        join(dir, "out"),
        "--version",
        input.version,
        ...modelArg(input.base, "base"),
        ...modelArg(input.current, "current"),
        ...trainingArgs(input.training, this.o.maxMinutes),
      ];
      const out = await this.train(job.id, args);
      if (out.event === "error") {
        const refused = out.code === "BL_MODEL_WORSE";
        const details = out.details as { adapted?: unknown; current?: unknown } | null;
        await this.store.finish(db, job.id, this.o.worker, {
          status: refused ? "refused" : "failed",
          error: { code: String(out.code), message: String(out.message) },
          result: refused
            ? { data, adapted: details?.adapted, current: details?.current, currentModel: input.current }
            : { data },
          now: Date.now(),
        });
        return;
      }
      await this.store.progress(db, job.id, this.o.worker, { stage: "publishing" });
      const card = out.card as Record<string, unknown> & {
        herd: { adapted: unknown; current: unknown; currentModel: string };
        threshold: number;
        training: { epochs: number; ms: number; initFrom?: string };
      };
      if (existsSync(join(this.o.modelsDir, `${input.version}.pkg`)))
        throw ERR_CONFLICT(`model version ${input.version} was published meanwhile; not overwritten`);
      const p = publishModel(ctx, String(out.dir), this.o.modelsDir, input.version);
      await this.store.finish(db, job.id, this.o.worker, {
        status: "succeeded",
        result: {
          published: { version: p.version, sha256: p.sha256, bytes: p.bytes },
          data: { ...data, skipped: (out.skipped as unknown[]).length },
          adapted: card.herd.adapted,
          current: card.herd.current,
          currentModel: input.current,
          baseModel: input.base,
          threshold: card.threshold,
          training: { epochs: card.training.epochs, ms: card.training.ms },
          card,
        },
        now: Date.now(),
      });
      ctx.log.info({ job: job.id, herd: input.herd, version: p.version }, "herd-adapted model published");
    } catch (e) {
      const err = e as { code?: string; message?: string };
      await this.store.finish(db, job.id, this.o.worker, {
        status: "failed",
        error: { code: err.code ?? ERR_ADAPT_FAILED.spec.code, message: String(err.message ?? e) },
        now: Date.now(),
      });
    } finally {
      clearInterval(beat);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The folder `model adapt` reads: the named one, or the crops extracted from stored records. */
  private async prepare(input: AdaptInput, dir: string) {
    const f = input.frames;
    if ("folder" in f) return { herdDir: resolveHerdFolder(this.o.herdDataDir, f.folder), data: {} };
    if ("upload" in f)
      return { herdDir: resolveUpload(this.o.herdDataDir, f.upload, input.herd), data: { upload: f.upload } };
    const herdDir = join(dir, "herd");
    mkdirSync(herdDir, { recursive: true });
    const byPig = await labelledSightings(this.ctx!.db, f.records);
    const got = await extractFrames(this.ctx!.db, byPig, herdDir);
    requireFrames(got.pigs, got.frames, "stored records (labelled sightings with their media frames)");
    return { herdDir, data: got };
  }

  /** Runs `barnlink model adapt --json`; resolves with its last result or error line. */
  private train(id: string, args: string[]): Promise<ChildLine> {
    const ctx = this.ctx!;
    const [cmd, ...pre] = this.o.command ?? [process.execPath, CLI_ENTRY];
    if (!cmd || (!this.o.command && !existsSync(CLI_ENTRY)))
      throw ERR_ADAPT_FAILED(`no barnlink command to run training with (${CLI_ENTRY})`);
    return new Promise((resolvePromise, reject) => {
      const child = spawn(cmd, [...pre, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, BARNLINK_LOG: process.env.BARNLINK_LOG ?? "warn" },
      });
      this.child = child;
      let last: ChildLine | undefined;
      let stderr = "";
      let lastWrite = 0;
      let timedOut = false;
      const timeout = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, this.o.maxMinutes * 60_000);
      createInterface({ input: child.stdout! }).on("line", (l) => {
        let m: ChildLine;
        try {
          m = JSON.parse(l) as ChildLine;
        } catch {
          return;
        }
        if (m.event !== "progress") {
          last = m;
          return;
        }
        if (Date.now() - lastWrite < 1000) return;
        lastWrite = Date.now();
        const { event: _e, ...p } = m;
        this.store.progress(ctx.db, id, this.o.worker, { stage: "training", ...p }).catch(() => {});
      });
      child.stderr!.on("data", (b: Buffer) => {
        stderr = (stderr + b.toString("utf8")).slice(-4000);
      });
      child.on("error", (e) => {
        clearTimeout(timeout);
        reject(ERR_ADAPT_FAILED(`could not start training: ${e.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timeout);
        if (timedOut)
          return reject(ERR_ADAPT_TIMEOUT(`stopped after adapt.maxMinutes (${this.o.maxMinutes} min)`));
        if (last) return resolvePromise(last);
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        if (signal)
          return reject(ERR_ADAPT_FAILED(`training stopped by ${signal}${tail ? `: ${tail}` : ""}`));
        if (/BL_MODEL_DATA/.test(stderr)) return reject(ERR_ADAPT_NO_FRAMES(tail));
        reject(ERR_ADAPT_FAILED(`training exited with code ${code}${tail ? `: ${tail}` : ""}`));
      });
    });
  }
}
