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
      return jsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      // Loops and string concatenation, not map/filter/join: a gateway canonicalises every record
      // it stores (issue #15: this was ~7% of the peer job's CPU). core/canonical.test.ts checks
      // the output against the map/join form on random values.
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          // A hole stays empty, as Array.prototype.map and join left it.
          if (i in value) out += canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = "{";
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        if (out.length > 1) out += ",";
        out += `${jsonString(k)}:${canonicalJson(v)}`;
      }
      return `${out}}`;
    }
    default:
      throw ERR_BAD_RECORD(`canonical JSON cannot encode a ${typeof value}`);
  }
}

/** Printable ASCII but `"` and `\`: JSON.stringify would write it between quotes unchanged. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const jsonString = (s: string) => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

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
