import { ERR_BAD_RECORD } from "./errors.ts";

/**
 * Canonical JSON (the subset of RFC 8785 JCS that our records use): object keys sorted by UTF-16
 * code units, no whitespace, numbers in ECMAScript shortest round-trip form. Hashes and signatures
 * are always over these bytes, so any JSON producer that follows RFC 8785 can verify them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw ERR_BAD_RECORD(`canonical JSON cannot encode ${value}`);
      return JSON.stringify(value);
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw ERR_BAD_RECORD(`canonical JSON cannot encode a ${typeof value}`);
  }
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

/**
 * Decodes base64 only in its one canonical spelling: `text` must be exactly what encoding the
 * decoded bytes gives back. Node's decoder skips stray characters and ignores the unused bits of
 * the last character, so without this check `…D/==` and `…Dw==` were the same signature (found by
 * test/fuzz): a signature, hash or key has exactly one accepted text. Returns undefined otherwise,
 * or when `length` is given and the bytes are not that long.
 */
export function strictBase64(text: unknown, length?: number): Buffer | undefined {
  if (typeof text !== "string") return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) return undefined;
  if (length !== undefined && bytes.length !== length) return undefined;
  return bytes;
}
