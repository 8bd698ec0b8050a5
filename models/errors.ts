import { defineError } from "../core/errors.ts";

/** Coded errors of the pig-face models (BL_MODEL_*); listed in docs/pig-faces.md. */
export const ERR_MODEL_LOAD = defineError(
  "BL_MODEL_LOAD",
  500,
  "A face model directory is missing or unreadable.",
);
export const ERR_MODEL_DATA = defineError(
  "BL_MODEL_DATA",
  400,
  "A labelled image folder (DIR/<id>/*.jpg) is missing, empty or has too few classes or images.",
);
export const ERR_MODEL_PACKAGE = defineError("BL_MODEL_PACKAGE", 422, "A model package is malformed.");
export const ERR_MODEL_SIGNATURE = defineError(
  "BL_MODEL_SIGNATURE",
  422,
  "A model package's signature does not verify against the cloud's key; it was refused.",
);
export const ERR_MODEL_HASH = defineError(
  "BL_MODEL_HASH",
  422,
  "A model file's SHA-256 differs from its signed manifest; the package was refused.",
);
export const ERR_MODEL_ROLLBACK = defineError(
  "BL_MODEL_ROLLBACK",
  409,
  "There is no previous model version to roll back to.",
);
export const ERR_MODEL_NO_FACE = defineError(
  "BL_MODEL_NO_FACE",
  422,
  "No usable face (size, sharpness, exposure) was found in the image.",
);
export const ERR_MODEL_GALLERY = defineError(
  "BL_MODEL_GALLERY",
  409,
  "The gallery's templates were made by a model with another embedding size; re-enrol.",
);
export const ERR_FACE_DECODE = defineError(
  "BL_FACE_DECODE",
  422,
  "An image file could not be decoded (truncated, corrupt or not an image); it was skipped.",
);
export const ERR_FACE_QUALITY = defineError(
  "BL_FACE_QUALITY",
  422,
  "A face photo failed the quality gate (too small, blurred, too dark or bright); it was not used.",
);
export const ERR_MODEL_WORSE = defineError(
  "BL_MODEL_WORSE",
  409,
  "A herd-adapted model scored worse than the current one on the herd's held-out frames; it was not published.",
);
export const ERR_MODEL_FETCH = defineError(
  "BL_MODEL_FETCH",
  502,
  "A model package named by a model.install command could not be downloaded; the current model keeps running.",
);
export const ERR_MODEL_RUNTIME = defineError(
  "BL_MODEL_RUNTIME",
  503,
  "No TensorFlow.js backend (tfjs-node, wasm or cpu) could start on this machine.",
);
