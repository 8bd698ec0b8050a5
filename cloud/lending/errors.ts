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
  "A species profile is missing or invalid.",
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
export const ERR_LENDING_DUPLICATE = defineError(
  "BL_LENDING_DUPLICATE",
  409,
  "An object with this id, or a repayment with this reference, already exists.",
);
export const ERR_LENDING_PAYOFF = defineError(
  "BL_LENDING_PAYOFF",
  409,
  "A payoff must pay everything owed on the day (see the payoff quote).",
);
export const ERR_LENDING_OPEN_BATCH = defineError(
  "BL_LENDING_OPEN_BATCH",
  409,
  "The barn or one of the devices already finances an open batch (one herd is financed once).",
);
export const ERR_LENDING_OVERRIDE_CAP = defineError(
  "BL_LENDING_OVERRIDE_CAP",
  409,
  "An override release exceeds the facility's available limit.",
);
export const ERR_PAYMENT_SCHEMA = defineError(
  "BL_PAYMENT_SCHEMA",
  422,
  "A payment file failed ISO 20022 schema validation; its orders stay unexported with the reason.",
);
export const ERR_PAYMENT_REPORT = defineError(
  "BL_PAYMENT_REPORT",
  400,
  "A bank status report (pain.002) or reconciliation request is malformed or names unknown orders.",
);
export const ERR_SCENARIO_FILE = defineError(
  "BL_SCENARIO_FILE",
  400,
  "A scenario file is missing, unreadable or invalid (docs/lending.md, Scenarios).",
);
export const ERR_SCENARIO_EXPECT = defineError(
  "BL_SCENARIO_EXPECT",
  422,
  "A replayed scenario's decisions, reasons or findings differ from what the file expects (`barnlink scenario --check`).",
);
