import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ERR_CONFLICT, ERR_NOT_FOUND } from "../../core/errors.ts";
import { ident } from "../../core/zod-helpers.ts";
import { requireRole } from "../api/auth.ts";
import { ERR_HTTP_UNSUPPORTED_MEDIA } from "../api/errors.ts";
import { parseRequest } from "../api/validate.ts";
import type { CloudContext } from "../context.ts";
import {
  countFolder,
  labelledSightings,
  reportedModel,
  requireFrames,
  resolveHerdFolder,
} from "./adapt-data.ts";
import { jobView } from "./adapt-store.ts";
import type { AdaptInput, AdaptWorker } from "./adapt-worker.ts";
import { ERR_ADAPT_TOO_LARGE } from "./errors.ts";
import { receiveHerdArchive, resolveUpload, UPLOAD_ID } from "./herd-upload.ts";
import { deleteUpload, listUploads, UPLOAD_RETENTION_MS } from "./upload-store.ts";

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const version = () => z.string().regex(VERSION, "a model version: letters, digits, . _ - (at most 64)");

/** The request body of POST /api/v1/models/adapt-jobs (also its OpenAPI schema: cloud/models/openapi.ts). */
export const adaptRequest = z.strictObject({
  /** The herd's name: it names the adapted model's version and groups its jobs. */
  herd: ident(),
  frames: z.union([
    z.strictObject({ folder: z.string().min(1).max(1000) }),
    z.strictObject({ upload: z.string().min(1).max(100) }),
    z.strictObject({
      records: z.strictObject({
        devices: z.array(ident()).min(1).max(100),
        cameras: z.array(ident()).min(1).max(100).optional(),
        from: z.number().int().optional(),
        to: z.number().int().optional(),
        maxPerPig: z.number().int().min(2).max(2000).default(40),
      }),
    }),
  ]),
  base: z.union([z.literal("shipped"), version()]).default("shipped"),
  current: z.union([z.literal("shipped"), version()]).optional(),
  version: version().optional(),
  training: z
    .strictObject({
      epochs: z.number().int().min(1).max(200),
      batch: z.number().int().min(2).max(512),
      lr: z.number().min(1e-6).max(1),
      margin: z.number().min(0).max(1),
      scale: z.number().min(1).max(128),
      holdout: z.number().min(0.05).max(0.8),
      shots: z.number().int().min(1).max(50),
      freeze: z.number().int().min(0).max(8),
      views: z.number().int().min(1).max(16),
      patience: z.number().int().min(0).max(200),
      budgetMinutes: z
        .number()
        .min(0.1)
        .max(24 * 60),
      seed: z
        .number()
        .int()
        .min(1)
        .max(2 ** 31),
    })
    .partial()
    .default({}),
});

export const herdUploadQuery = z.strictObject({ herd: ident() });
export const herdUploadListQuery = z.strictObject({ herd: ident().optional() });
export const herdUploadParams = z.strictObject({ id: z.string().regex(UPLOAD_ID, "an upload id") });
/** Media types the upload route reads as a raw stream (a gzip is recognised by its magic bytes). */
export const ARCHIVE_TYPES = [
  "application/x-tar",
  "application/gzip",
  "application/x-gzip",
  "application/x-gtar",
  "application/octet-stream",
];

export const adaptListQuery = z.strictObject({ herd: ident().optional() });
export const adaptJobParams = z.strictObject({ id: z.string().max(100) });

const stamp = (t: number) => new Date(t).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

/**
 * Herd adaptation as a cloud job: POST starts one (officer or admin), GET shows its status,
 * progress and, when done, the model card's figures and the published package; DELETE cancels it.
 * Input errors are refused at once (4xx); the training runs off the request (adapt-worker.ts).
 */
export function adaptRoutes(worker: AdaptWorker) {
  const { modelsDir, herdDataDir } = worker.o;
  const published = (v: string) => v === "shipped" || existsSync(join(modelsDir, `${v}.pkg`));
  return async (app: FastifyInstance, ctx: CloudContext) => {
    // An archive is streamed to disk, never buffered: its own scope takes the body as a stream.
    await app.register(async (up) => {
      up.addContentTypeParser(ARCHIVE_TYPES, (_req, payload, done) => done(null, payload));
      up.post("/api/v1/models/herd-uploads", { preHandler: requireRole("officer") }, async (req, reply) => {
        const q = parseRequest(herdUploadQuery, req.query, "query");
        const max = worker.o.maxUploadBytes ?? 2 ** 30;
        if (Number(req.headers["content-length"] ?? 0) > max)
          throw ERR_ADAPT_TOO_LARGE(`the upload is larger than adapt.maxUploadBytes (${max} bytes)`);
        const body = req.body as AsyncIterable<Buffer> | undefined;
        if (typeof body?.[Symbol.asyncIterator] !== "function")
          throw ERR_HTTP_UNSUPPORTED_MEDIA(`send the archive as ${ARCHIVE_TYPES.join(", ")}`);
        const upload = await receiveHerdArchive(body, {
          root: herdDataDir,
          herd: q.herd,
          maxBytes: max,
          by: req.principal?.name ?? "?",
          now: Date.now(),
        });
        reply.code(201);
        return { upload };
      });
    });

    app.get("/api/v1/models/herd-uploads", async (req) => {
      const q = parseRequest(herdUploadListQuery, req.query, "query");
      const retentionMs = worker.o.uploadRetention ?? UPLOAD_RETENTION_MS;
      return { uploads: await listUploads(ctx.db, herdDataDir, { herd: q.herd, retentionMs }) };
    });

    app.delete("/api/v1/models/herd-uploads/:id", { preHandler: requireRole("officer") }, async (req) => {
      const { id } = parseRequest(herdUploadParams, req.params, "params");
      return { upload: await deleteUpload(ctx.db, herdDataDir, id) };
    });

    app.post("/api/v1/models/adapt-jobs", { preHandler: requireRole("officer") }, async (req, reply) => {
      const b = parseRequest(adaptRequest, req.body);
      const busy = await worker.store.active(ctx.db, b.herd);
      if (busy) throw ERR_CONFLICT(`herd ${b.herd} already has an adapt job ${busy.status}: ${busy.id}`);
      let devices: string[] = [];
      if ("folder" in b.frames || "upload" in b.frames) {
        const dir =
          "folder" in b.frames
            ? resolveHerdFolder(herdDataDir, b.frames.folder)
            : resolveUpload(herdDataDir, b.frames.upload, b.herd);
        const c = countFolder(dir);
        requireFrames(c.pigs, c.frames, `frames ${JSON.stringify(b.frames)}`);
      } else {
        devices = b.frames.records.devices;
        const byPig = await labelledSightings(ctx.db, b.frames.records);
        const list = [...byPig.values()];
        requireFrames(
          list.filter((l) => l.length >= 2).length,
          list.reduce((n, l) => n + l.length, 0),
          "stored records (sightings labelled by an ear tag)",
        );
      }
      if (!published(b.base)) throw ERR_NOT_FOUND(`base: no published model ${b.base}`);
      if (b.current !== undefined && !published(b.current))
        throw ERR_NOT_FOUND(`current: no published model ${b.current}`);
      // The model to beat: as asked, else what the herd's gateways report running, else the base.
      const reported = await reportedModel(ctx.db, devices);
      const current = b.current ?? (reported && published(reported) ? reported : b.base);
      const now = Date.now();
      const v = b.version ?? `herd-${b.herd}-${stamp(now)}`.slice(0, 64);
      if (published(v)) throw ERR_CONFLICT(`model version ${v} is already published`);
      const input: AdaptInput = {
        herd: b.herd,
        frames: b.frames,
        base: b.base,
        current,
        version: v,
        training: b.training,
      };
      const job = await worker.store.create(ctx.db, b.herd, input, req.principal?.name ?? "?", now);
      // An upload deleted (or expired) while the job was being created: the job is withdrawn, not
      // left to fail later (upload-store.ts renames before it checks, so one of the two sees the other).
      if ("upload" in b.frames) {
        try {
          resolveUpload(herdDataDir, b.frames.upload, b.herd);
        } catch (e) {
          await worker.store.cancel(ctx.db, job.id, Date.now());
          throw e;
        }
      }
      worker.kick();
      reply.code(202);
      return { job: jobView(job) };
    });

    app.get("/api/v1/models/adapt-jobs", async (req) => {
      const q = parseRequest(adaptListQuery, req.query, "query");
      return { jobs: (await worker.store.list(ctx.db, q.herd)).map(jobView) };
    });

    app.get("/api/v1/models/adapt-jobs/:id", async (req) => {
      const { id } = parseRequest(adaptJobParams, req.params, "params");
      return { job: jobView(await worker.store.get(ctx.db, id)) };
    });

    app.delete("/api/v1/models/adapt-jobs/:id", { preHandler: requireRole("officer") }, async (req) => {
      const { id } = parseRequest(adaptJobParams, req.params, "params");
      return { job: jobView(await worker.cancel(ctx.db, id)) };
    });
  };
}
