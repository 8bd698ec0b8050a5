import { defineError } from "../../core/errors.ts";

export const ERR_FLEET_NOT_QUEUED = defineError(
  "BL_FLEET_NOT_QUEUED",
  503,
  "A fleet request needs the cloud's stored command queue (barnlink cloud run); this API sends commands without keeping them.",
);
