import { defineError } from "../core/errors.ts";

/** Error codes of the outbox (docs/errors.md, docs/durability.md). */
export const ERR_OUTBOX_FULL = defineError(
  "BL_OUTBOX_FULL",
  507,
  "The outbox refused a record: over quota with nothing evictable left (telemetry, media) or below the free-disk floor (evidence).",
);
export const ERR_OUTBOX_CORRUPT = defineError(
  "BL_OUTBOX_CORRUPT",
  500,
  "The outbox file is corrupt (SQLITE_CORRUPT/SQLITE_NOTADB): it was quarantined, readable rows salvaged into a fresh outbox.",
);
