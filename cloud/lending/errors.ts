import { defineError } from "../../core/errors.ts";

/** Lending and payment error codes (listed in docs/lending.md). */
export const ERR_LENDING_LIMIT = defineError(
  "BL_LENDING_LIMIT",
  409,
  "A reservation would take the facility over its limit.",
);
export const ERR_LENDING_STATE = defineError(
  "BL_LENDING_STATE",
  409,
  "The tranche, override or batch is not in a state that allows this action.",
);
export const ERR_LENDING_UNBALANCED = defineError(
  "BL_LENDING_UNBALANCED",
  500,
  "A ledger transaction does not balance (debits must equal credits) or has a non-integer amount.",
);
export const ERR_LENDING_MAKER_CHECKER = defineError(
  "BL_LENDING_MAKER_CHECKER",
  403,
  "An override that releases money must be approved by a second officer, not its maker.",
);
export const ERR_LENDING_TERM = defineError(
  "BL_LENDING_TERM",
  409,
  "The facility's term or maximum drawdown period does not allow this drawdown.",
);
export const ERR_LENDING_PROFILE = defineError(
  "BL_LENDING_PROFILE",
  400,
  "A species profile or scenario file is missing or invalid.",
);
export const ERR_PAYMENT_NOTHING = defineError(
  "BL_PAYMENT_NOTHING",
  409,
  "There are no new payment orders to export.",
);
export const ERR_PAYMENT_WEBHOOK = defineError(
  "BL_PAYMENT_WEBHOOK",
  502,
  "The bank webhook did not accept a payment order after all retries.",
);
