import { defineError } from "../../core/errors.ts";

export const ERR_CERT = defineError(
  "BL_CERT",
  400,
  "A certificate operation failed: no CA in the folder, an unknown serial, a CSR whose signature or subject is wrong.",
);
