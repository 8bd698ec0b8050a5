import { defineError } from "../../core/errors.ts";

export const ERR_CLI_UPGRADE_PACKAGE = defineError(
  "BL_CLI_UPGRADE_PACKAGE",
  400,
  "The upgrade tarball is unreadable or is not a barnlink package (npm pack output).",
);
export const ERR_CLI_UPGRADE_EXISTS = defineError(
  "BL_CLI_UPGRADE_EXISTS",
  409,
  "That release is already installed; `barnlink upgrade` never overwrites a release folder.",
);
export const ERR_CLI_UPGRADE_ROLLED_BACK = defineError(
  "BL_CLI_UPGRADE_ROLLED_BACK",
  500,
  "The new release failed its health check; the previous release was put back and restarted.",
);
