import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { ERR_CONFIG_INVALID, ERR_CONFIG_READ, ERR_VALIDATION } from "./errors.ts";

/** One problem in a config file: where it is (`sources[2].registers[0].scale`) and what is wrong. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out === "" ? "(root)" : out;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

/** Turns zod issues into one line per problem, naming the path and what was found. */
export function problemsFromZod(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    let message = issue.message;
    if (issue.code === "invalid_type") {
      message =
        input === undefined
          ? `required (expected ${issue.expected})`
          : `expected ${issue.expected}, got ${describe(input)}`;
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...issue.path, key]), message: "unknown key (check its spelling)" });
      }
      continue;
    } else if (issue.code === "invalid_union" && input !== undefined) {
      message = `${issue.message}, got ${describe(input)}`;
    }
    out.push({ path, message });
  }
  return out;
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
  return `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${lines.join("\n")}`;
}

/** Parses YAML text and validates it; throws BL_CONFIG_READ / BL_CONFIG_INVALID with every problem listed. */
export function parseConfigText<S extends z.ZodType>(text: string, schema: S, file = "config"): z.output<S> {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    // The yaml package ends its first line with "at line L, column C:" before a code excerpt.
    const msg = (e instanceof YAMLParseError ? (e.message.split("\n")[0] ?? "") : String(e)).replace(
      /:\s*$/,
      "",
    );
    throw ERR_CONFIG_READ(`${file}: not valid YAML: ${msg}`);
  }
  // An empty file (or only comments, or `{}`) is a mistake, not "all defaults": refuse it by name.
  if (
    data === null ||
    data === undefined ||
    (typeof data === "object" && !Array.isArray(data) && Object.keys(data).length === 0)
  ) {
    const problems = [
      { path: "(file)", message: "the config is empty; see docs/configuration.md for the keys" },
    ];
    throw ERR_CONFIG_INVALID(formatProblems(file, problems), problems);
  }
  const result = schema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const problems = problemsFromZod(result.error);
    throw ERR_CONFIG_INVALID(formatProblems(file, problems), problems);
  }
  return result.data;
}

export function loadConfigFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw ERR_CONFIG_READ(`${file}: cannot read (${code ?? String(e)})`);
  }
  return parseConfigText(text, schema, file);
}

/**
 * Parses "30s", "5m", "2h", "1d", "250ms" or a number of milliseconds, to whole milliseconds (a
 * positive duration never rounds to 0, which means "never" for some settings).
 */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") return v > 0 ? Math.max(1, Math.round(v)) : Math.round(v);
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw ERR_VALIDATION(`not a duration: ${JSON.stringify(v)} (use e.g. 500ms, 30s, 5m, 2h, 1d)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "ms";
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  return Math.round(n * mult);
}

/** Parses "64MiB", "10MB", "512KiB" or a number of bytes. */
export function parseBytes(v: string | number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(v.trim());
  if (!m) throw ERR_VALIDATION(`not a size: ${JSON.stringify(v)} (use e.g. 512KiB, 64MiB, 2GiB)`);
  const unit = (m[2] ?? "B").toLowerCase();
  const mult: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  return Math.round(Number(m[1]) * (mult[unit] ?? 1));
}
