import { ERR_BAD_RECORD } from "../../core/errors.ts";
import { bodyIssue, canonicalBody, canonicalReading, isKind, isPlainReading } from "../kinds.ts";
import { canonicalPlainBlock } from "./canonical-block.ts";
import type { AppendInput } from "./types.ts";

/**
 * Checks a call's items whole before anything is stored (a bad one leaves every chain where it was)
 * and returns each body's canonical text, which the link covers and the outbox stores.
 * BL_BAD_RECORD names the stream and what is wrong.
 */
export function canonicalItems(items: AppendInput[], validate: boolean): string[] {
  const canonicals = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const t = it.t;
    // The link covers the four stored time values: anything else would not survive the row, and
    // the wire carries integer milliseconds (a fraction would be refused by the cloud for ever).
    if (
      !Number.isSafeInteger(t?.wall) ||
      !Number.isSafeInteger(t.mono) ||
      typeof t.boot !== "string" ||
      typeof t.synced !== "boolean"
    )
      throw ERR_BAD_RECORD(
        `${it.stream}: capture time must be {wall: integer ms, boot: string, mono: integer ms, synced: boolean}`,
      );
    // The reading fast path checked once: valid, and its canonical text (as bodyIssue + canonicalBody).
    if (it.kind === "reading" && isPlainReading(it.body)) {
      canonicals[i] = canonicalReading(it.body);
      continue;
    }
    // The register block fast path likewise (canonical-block.ts): valid, and its canonical text.
    if (it.kind === "block") {
      const text = canonicalPlainBlock(it.body);
      if (text !== undefined) {
        canonicals[i] = text;
        continue;
      }
    }
    if (validate) {
      const issue = bodyIssue(it.kind, it.body);
      if (issue !== null)
        throw ERR_BAD_RECORD(isKind(it.kind) ? `${it.stream}: ${issue}` : `${issue} for stream ${it.stream}`);
    }
    canonicals[i] = canonicalBody(it.kind, it.body);
  }
  return canonicals;
}
