import { z } from "zod";
import { ERR_CONFLICT, ERR_NOT_FOUND } from "../../core/errors.ts";
import type { OpenApiRoute } from "../api/openapi-route.ts";
import {
  ARCHIVE_TYPES,
  adaptJobParams,
  adaptListQuery,
  adaptRequest,
  herdUploadListQuery,
  herdUploadParams,
  herdUploadQuery,
} from "./adapt-routes.ts";
import {
  ERR_ADAPT_ARCHIVE,
  ERR_ADAPT_NO_FRAMES,
  ERR_ADAPT_PATH,
  ERR_ADAPT_STATE,
  ERR_ADAPT_TOO_LARGE,
  ERR_ADAPT_UPLOAD_IN_USE,
} from "./errors.ts";
import { rolloutBody, rolloutParams } from "./routes.ts";

const anyObject = z.record(z.string(), z.unknown());

/** An adapt job as its routes answer it (adapt-store.ts jobView). */
export const adaptJobView = z.object({
  id: z.string(),
  herd: z.string(),
  status: z.enum(["queued", "running", "succeeded", "refused", "failed", "cancelled"]),
  /** The request as validated. */
  input: anyObject.nullable(),
  requestedBy: z.string(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  attempts: z.number(),
  progress: anyObject.nullable(),
  /** When done: the model card's figures and, unless refused, the published package. */
  result: anyObject.nullable(),
  /** A failed job's code (BL_ADAPT_TIMEOUT, BL_ADAPT_INTERRUPTED, BL_ADAPT_FAILED, …) and message. */
  error: z.object({ code: z.string(), message: z.string().nullable() }).nullable(),
});
const oneJob = z.object({ job: adaptJobView });

/** An accepted herd upload (herd-upload.ts HerdUpload). */
export const herdUploadView = z.object({
  /** What an adapt job names as `frames: {upload: id}`. */
  id: z.string(),
  herd: z.string(),
  /** The folder under adapt.herdDataDir it was unpacked to. */
  folder: z.string(),
  /** Pigs with 2 or more frames; frames in all; bytes received. */
  pigs: z.number(),
  frames: z.number(),
  bytes: z.number(),
  uploadedBy: z.string(),
  uploadedAt: z.number(),
  /** Entries left out (not an image, hidden, outside the layout): count and the first 50. */
  skipped: z.object({
    count: z.number(),
    files: z.array(z.object({ file: z.string(), reason: z.string() })),
  }),
});
/** An upload as listed: the job that trains on it (queued or running) and when retention removes it. */
export const herdUploadListed = herdUploadView.extend({
  usedBy: z.string().nullable(),
  /** uploadedAt + adapt.uploadRetention; null when uploads are kept (retention 0). */
  expiresAt: z.number().nullable(),
});
const reads = ["admin", "officer", "auditor"];

/** Model packages and herd adaptation jobs (routes.ts, adapt-routes.ts; docs/pig-faces.md). */
export const modelsOpenApi: OpenApiRoute[] = [
  {
    path: "/api/v1/models",
    method: "get",
    summary: "Published signed model packages (version, sha256)",
    roles: reads,
    response: z.object({
      models: z.array(z.object({ version: z.string(), sha256: z.string(), bytes: z.number() })),
    }),
  },
  {
    path: "/api/v1/models/{version}/rollout",
    method: "post",
    summary: "Roll a published model out to devices: a signed model.install command each",
    roles: ["admin"],
    params: rolloutParams,
    body: rolloutBody,
    response: z.object({ version: z.string(), devices: z.array(z.string()), status: z.literal("commanded") }),
    errors: [ERR_NOT_FOUND],
  },
  {
    path: "/api/v1/models/herd-uploads",
    method: "post",
    summary:
      "Upload a herd's labelled frames as a tar or tar.gz of <pigId>/<frame>.jpg, for adapt jobs (frames: {upload: id})",
    roles: ["officer"],
    query: herdUploadQuery,
    consumes: ARCHIVE_TYPES,
    status: 201,
    response: z.object({ upload: herdUploadView }),
    errors: [ERR_ADAPT_PATH, ERR_ADAPT_ARCHIVE, ERR_ADAPT_TOO_LARGE, ERR_ADAPT_NO_FRAMES],
  },
  {
    path: "/api/v1/models/herd-uploads",
    method: "get",
    summary: "Herd uploads, newest first; ?herd= for one herd's (with the job using each and its expiry)",
    roles: reads,
    query: herdUploadListQuery,
    response: z.object({ uploads: z.array(herdUploadListed) }),
  },
  {
    path: "/api/v1/models/herd-uploads/{id}",
    method: "delete",
    summary: "Delete a herd upload (refused while a queued or running adapt job trains on it)",
    roles: ["officer"],
    params: herdUploadParams,
    response: z.object({ upload: herdUploadView }),
    errors: [ERR_NOT_FOUND, ERR_ADAPT_UPLOAD_IN_USE],
  },
  {
    path: "/api/v1/models/adapt-jobs",
    method: "post",
    summary:
      "Start a herd adaptation job (train on the herd's labelled frames, publish only if it beats the current model)",
    roles: ["officer"],
    body: adaptRequest,
    status: 202,
    response: oneJob,
    errors: [ERR_ADAPT_PATH, ERR_ADAPT_NO_FRAMES, ERR_NOT_FOUND, ERR_CONFLICT],
  },
  {
    path: "/api/v1/models/adapt-jobs",
    method: "get",
    summary: "Adapt jobs, newest first; ?herd= for one herd's",
    roles: reads,
    query: adaptListQuery,
    response: z.object({ jobs: z.array(adaptJobView) }),
  },
  {
    path: "/api/v1/models/adapt-jobs/{id}",
    method: "get",
    summary: "One adapt job: status, progress, and when done the model card's figures and package",
    roles: reads,
    params: adaptJobParams,
    response: oneJob,
    errors: [ERR_NOT_FOUND],
  },
  {
    path: "/api/v1/models/adapt-jobs/{id}",
    method: "delete",
    summary: "Cancel an adapt job that has not ended (its training process is stopped)",
    roles: ["officer"],
    params: adaptJobParams,
    response: oneJob,
    errors: [ERR_NOT_FOUND, ERR_ADAPT_STATE],
  },
];
