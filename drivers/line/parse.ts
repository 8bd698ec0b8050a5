/**
 * Parses one line from a serial sensor into named numbers. Accepts a JSON object
 * (`{"t":21.5,"h":60}`) or key=value pairs separated by spaces, commas or semicolons
 * (`t=21.5 h=60`, `W:1234.5kg`); a trailing unit on a value is ignored. Returns undefined for a
 * line that is neither (line noise, a boot banner): the caller counts it.
 */
export function parseLine(line: string, format: "auto" | "json" | "kv"): Record<string, number> | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  if (format === "json" || (format === "auto" && text.startsWith("{"))) return parseJson(text);
  return parseKv(text);
}

function parseJson(text: string): Record<string, number> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const PAIR = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)[A-Za-z%°/]*$/;

function parseKv(text: string): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const part of text.split(/[\s,;]+/)) {
    if (part === "") continue;
    const m = PAIR.exec(part);
    if (!m) return undefined; // one bad pair means a garbled line: trust none of it
    out[m[1]!] = Number(m[2]);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
