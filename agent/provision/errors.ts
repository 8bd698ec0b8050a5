import { defineError } from "../../core/errors.ts";

/** The gateway's side of provisioning (docs/errors.md, "Security"). */
export const ERR_PROVISION_REFUSED = defineError(
  "BL_PROVISION_REFUSED",
  400,
  "The cloud refused the enrolment or key rotation; the message gives the cloud's own code (BL_ENROL_TOKEN_USED, BL_ENROL_TOKEN_EXPIRED, BL_ENROL_DEVICE, BL_ENROL_PROOF…). Nothing was written.",
);
export const ERR_PROVISION_UNREACHABLE = defineError(
  "BL_PROVISION_UNREACHABLE",
  503,
  "The cloud could not be reached or answered something that is not barnlink's API (check --cloud URL, the network, TLS). Nothing was written; run it again.",
);
