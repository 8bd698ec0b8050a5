import { defineError } from "../../core/errors.ts";

/** Provisioning, key rotation and API-token errors (docs/errors.md, "Security"). */
export const ERR_ENROL_TOKEN = defineError(
  "BL_ENROL_TOKEN",
  401,
  "The enrolment token is unknown (mistyped, or never issued by this cloud).",
);
export const ERR_ENROL_TOKEN_USED = defineError(
  "BL_ENROL_TOKEN_USED",
  409,
  "The enrolment token was already used: each is single-use. Ask an admin for a new one (barnlink cloud enrol).",
);
export const ERR_ENROL_TOKEN_EXPIRED = defineError(
  "BL_ENROL_TOKEN_EXPIRED",
  410,
  "The enrolment token has expired. Ask an admin for a new one (barnlink cloud enrol).",
);
export const ERR_ENROL_DEVICE = defineError(
  "BL_ENROL_DEVICE",
  403,
  "The enrolment token was issued for another device id than the one that presented it.",
);
export const ERR_ENROL_PROOF = defineError(
  "BL_ENROL_PROOF",
  400,
  "The proof of possession does not verify: the request was not signed by the key it registers (or, on rotation, by the device's current key), or it is stale.",
);
export const ERR_ENROL_CERT = defineError(
  "BL_ENROL_CERT",
  400,
  "A client certificate was asked for but cannot be issued: no CA configured (enrol.caDir), or the CSR is not valid for this device.",
);
export const ERR_TOKEN_EXPIRED = defineError(
  "BL_TOKEN_EXPIRED",
  401,
  "The API token has expired; an admin issues a new one (barnlink cloud token create).",
);
export const ERR_TOKEN_REVOKED = defineError("BL_TOKEN_REVOKED", 401, "The API token was revoked.");
