import { defineError } from "../../core/errors.ts";

/** Broker authentication and configuration errors (docs/errors.md, "Security"). */
export const ERR_BROKER_AUTH = defineError(
  "BL_BROKER_AUTH",
  401,
  "The MQTT broker refused a connection: unknown user, wrong password, revoked device or a client id bound to another user.",
);
export const ERR_BROKER_ACL = defineError(
  "BL_BROKER_ACL",
  403,
  "The MQTT broker refused a publish or subscribe outside the client's own topics.",
);
export const ERR_BROKER_CONFIG = defineError(
  "BL_BROKER_CONFIG",
  400,
  "A broker configuration could not be generated (missing credentials, certificate files or output folder).",
);
