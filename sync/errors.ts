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
  "The outbox is damaged: the file (SQLITE_CORRUPT/SQLITE_NOTADB; quarantined at start, readable rows salvaged into a fresh outbox) or a stream's stored records, which no longer match their chain link (that stream is held, not sent).",
);
