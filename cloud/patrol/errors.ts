import { defineError } from "../../core/errors.ts";

export const ERR_PATROL_NOT_FOUND = defineError(
  "BL_PATROL_NOT_FOUND",
  404,
  "No such patrol robot, round, checkpoint or frame in the evidence received so far.",
);
export const ERR_PATROL_REVIEW = defineError(
  "BL_PATROL_REVIEW",
  409,
  "An alarm review names a violation the round does not have, or the violation was already reviewed.",
);
