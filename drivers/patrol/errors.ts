import { defineError } from "../../core/errors.ts";

/** Error codes of the patrol driver (robot controllers, missions, camera equipment checks). */
export const ERR_PATROL_PLAN = defineError(
  "BL_PATROL_PLAN",
  400,
  "A patrol plan (mission) failed validation: the message names the checkpoint and field.",
);
export const ERR_ROBOT_MESSAGE = defineError(
  "BL_ROBOT_MESSAGE",
  400,
  "A robot controller sent a message that is not JSON or not of the documented shape (counted, never fatal).",
);
export const ERR_ROBOT_UNREACHABLE = defineError(
  "BL_ROBOT_UNREACHABLE",
  503,
  "The robot controller (MQTT broker or rosbridge WebSocket) could not be reached.",
);
export const ERR_EQUIP_REGION = defineError(
  "BL_EQUIP_REGION",
  400,
  "An equipment-check region lies outside the camera frame or is empty.",
);
export const ERR_EQUIP_IMAGE = defineError(
  "BL_EQUIP_IMAGE",
  400,
  "An image given to an equipment check (or the calibration tool) could not be decoded.",
);
