import { defineError } from "../../core/errors.ts";

/** Coded errors of the cloud's herd adaptation jobs (BL_ADAPT_*); listed in docs/errors.md. */
export const ERR_ADAPT_PATH = defineError(
  "BL_ADAPT_PATH",
  400,
  "An adapt job names a folder outside adapt.herdDataDir (or none is configured), or a path that is not a folder; or an uploaded archive holds an absolute path, a '..', a link or a device entry.",
);
export const ERR_ADAPT_NO_FRAMES = defineError(
  "BL_ADAPT_NO_FRAMES",
  422,
  "An adapt job's input holds too few labelled frames: at least 2 pigs with 2 frames each are needed.",
);
export const ERR_ADAPT_STATE = defineError(
  "BL_ADAPT_STATE",
  409,
  "The adapt job has already ended: it cannot be cancelled.",
);
export const ERR_ADAPT_INTERRUPTED = defineError(
  "BL_ADAPT_INTERRUPTED",
  500,
  "An adapt job was interrupted by cloud restarts too often (it is resumed from the start otherwise).",
);
export const ERR_ADAPT_TIMEOUT = defineError(
  "BL_ADAPT_TIMEOUT",
  500,
  "An adapt job ran longer than adapt.maxMinutes and was stopped.",
);
export const ERR_ADAPT_FAILED = defineError(
  "BL_ADAPT_FAILED",
  500,
  "An adapt job's training process failed without a coded error (its last output is in the message).",
);
export const ERR_ADAPT_ARCHIVE = defineError(
  "BL_ADAPT_ARCHIVE",
  400,
  "An uploaded herd archive is not a tar or tar.gz, is corrupt or truncated, or breaks the <pigId>/<frame> layout (an invalid pig id, a frame twice); nothing of it is kept.",
);
export const ERR_ADAPT_TOO_LARGE = defineError(
  "BL_ADAPT_TOO_LARGE",
  413,
  "An uploaded herd archive (or what it unpacks to) is larger than adapt.maxUploadBytes; nothing of it is kept.",
);
export const ERR_ADAPT_UPLOAD_IN_USE = defineError(
  "BL_ADAPT_UPLOAD_IN_USE",
  409,
  "A herd upload cannot be deleted while an adapt job that trains on it is queued or running (cancel the job, or wait for it to end).",
);
