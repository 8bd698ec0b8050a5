import { builtinModules } from "node:module";
import { posix } from "node:path";
import { LAYERS, type LayerRule } from "./rules.ts";

const { dirname, join, normalize } = posix;

/**
 * The layering checks as pure functions over a file set (path from the repository root → text), so
 * layering.test.ts can run them on the repository and on planted, synthetic files alike.
 */
export type FileSet = ReadonlyMap<string, string>;

/** Static imports, re-exports and dynamic imports with a literal specifier (comments stripped). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of code.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** The repository path a relative specifier of `file` points at ("../x" above the root: null). */
function resolveFrom(file: string, spec: string): string | null {
  const t = normalize(join(dirname(file), spec));
  return t.startsWith("..") ? null : t;
}

export const exempt = (f: string) =>
  /\.test\.ts$/.test(f) || f.startsWith("test/") || f.includes("/test/") || f.startsWith("bench/");

export const ruleFor = (f: string, layers: LayerRule[] = LAYERS): LayerRule | undefined =>
  layers
    .filter((r) => (r.path.endsWith("/") ? f.startsWith(r.path) : f === r.path))
    .sort((a, b) => b.path.length - a.path.length)[0];

const ownFolder = (r: LayerRule) => (r.path.endsWith("/") ? r.path : `${dirname(r.path)}/`);
const builtins = new Set(builtinModules);
const packageOf = (spec: string) =>
  spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;

/** The edges a rule forbids, as "file -> import" lines (a package as "file -> name (package)"). */
export function violations(files: FileSet, layers: LayerRule[] = LAYERS): string[] {
  const bad: string[] = [];
  for (const [f, text] of files) {
    if (exempt(f)) continue;
    const rule = ruleFor(f, layers);
    if (!rule) continue;
    for (const spec of importsOf(text)) {
      if (spec.startsWith(".")) {
        const target = resolveFrom(f, spec);
        if (target === null) continue;
        const ok =
          target.startsWith(ownFolder(rule)) ||
          rule.mayImport.some((a) => (a.endsWith("/") ? target.startsWith(a) : target === a));
        if (!ok) bad.push(`${f} -> ${target}`);
        continue;
      }
      // Browser assets import by URL; Node built-ins are always allowed.
      if (spec.startsWith("/") || spec.startsWith("node:") || builtins.has(spec)) continue;
      if (rule.packages && !rule.packages.includes(packageOf(spec))) bad.push(`${f} -> ${spec} (package)`);
    }
  }
  return bad;
}

/** Every cloud/ file reachable from `roots` through static imports (a dynamic import loads on use only). */
export function cloudReachedFrom(roots: string[], files: FileSet): string[] {
  const seen = new Set<string>();
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = files.get(f) ?? "";
    for (const spec of importsOf(text)) {
      if (!spec.startsWith(".")) continue;
      const quoted = spec.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (new RegExp(`import\\s*\\(\\s*["']${quoted}["']`).test(text)) continue;
      const t = resolveFrom(f, spec);
      if (t !== null && files.has(t)) walk(t);
    }
  };
  for (const r of roots) walk(r);
  return [...seen].filter((f) => f.startsWith("cloud/"));
}

/** The source files a folder README must name: the folder's own, tests aside. */
export const listedKind = (name: string) => /\.(ts|js|mjs|py)$/.test(name) && !/\.(test|d)\.ts$/.test(name);

/**
 * "README -> file" for every source file directly in a folder that has a README.md (or in one of
 * `extra`'s folders, named by the README given) that the README does not name.
 */
export function unlistedFiles(files: FileSet, extra: Array<[folder: string, readme: string]> = []): string[] {
  const readmeOf = new Map<string, string>(extra);
  for (const f of files.keys()) if (f.endsWith("/README.md")) readmeOf.set(`${dirname(f)}/`, f);
  const missing: string[] = [];
  for (const f of files.keys()) {
    const dir = `${dirname(f)}/`;
    const readme = readmeOf.get(dir);
    const name = f.slice(dir.length);
    if (!readme || !listedKind(name)) continue;
    if (!(files.get(readme) ?? "").includes(name)) missing.push(`${readme} -> ${f}`);
  }
  return missing.sort();
}

/**
 * The one way a test skips for a missing service or tool: a flag from a skip helper (each prints
 * the reason off CI and throws under CI=true), given to `describe.runIf` / `it.runIf`. These are
 * the helpers; any other is defined through one of the first two (checked by skipHelperProblems).
 */
export const SKIP_HELPERS = [
  "serviceAvailable",
  "requireTool",
  "postgresAvailable",
  "mosquittoAvailable",
  "mosquittoBinaryAvailable",
  "chromiumAvailable",
  "rabbitmqAvailable",
  "dialectsHere",
];
const helperCall = new RegExp(`\\b(${SKIP_HELPERS.join("|")})\\s*\\(`);
/** Test files, but not the layering tests themselves (they plant every forbidden style on purpose). */
const isTest = (f: string) => /\.test\.ts$/.test(f) && !f.startsWith("test/layering/");

/**
 * "file:line: what" for every other way a test file skips or passes without running: `t.skip()` /
 * `ctx.skip()` / `it.skip` / `skipIf`, a bare `return` after an availability check, a `runIf` whose
 * flag no skip helper gave, or a test deciding on CI=true itself.
 */
export function skipStyleViolations(files: FileSet): string[] {
  const bad: string[] = [];
  for (const [f, text] of files) {
    if (!isTest(f)) continue;
    const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "));
    // Flags a skip helper gave, directly or through other flags: `const ok = await postgresAvailable()`,
    // `const ready = mqttOk && pgOk`, a local helper `const registryUp = () => serviceAvailable(…)`,
    // and the parameters of `describe.each(cases)` when its table holds flags.
    const flags = new Set<string>();
    const fromHelper = (cond: string) =>
      helperCall.test(cond) || [...flags].some((x) => new RegExp(`\\b${x}\\b`).test(cond));
    const defs = [
      ...code.matchAll(/(?:const|let)\s+(\w+)\s*(?::(?:[^=]|=>)*)?=(?!>)([\s\S]*?)(?:;\n|\n\n)/g),
    ];
    const tables = [...code.matchAll(/\.each\((\w+)\)\([^,]*,\s*(?:async\s*)?\(([^)]*)\)\s*=>/g)];
    for (let size = -1; size !== flags.size; ) {
      size = flags.size;
      for (const [, name, expr] of defs) if (fromHelper(expr!)) flags.add(name!);
      for (const [, table, params] of tables)
        if (flags.has(table!)) for (const p of params!.match(/\w+/g) ?? []) flags.add(p);
    }
    code.split("\n").forEach((line, i) => {
      const at = `${f}:${i + 1}`;
      if (/^\s*\/\//.test(line)) return;
      if (/\b(?:it|test|describe|suite|t|ctx|context|task)\.skip\s*\(|\.skip\s*\(\s*\)/.test(line))
        bad.push(`${at}: skips with .skip(); use describe/it.runIf(flag from a skip helper)`);
      if (/\.skipIf\s*\(/.test(line)) bad.push(`${at}: skipIf; use runIf(flag from a skip helper)`);
      const ret = /\bif\s*\((.*)\)\s*return\b/.exec(line);
      if (ret && fromHelper(ret[1]!))
        bad.push(`${at}: returns when a service is missing (reported as a pass); use runIf`);
      for (const m of line.matchAll(/\.runIf\s*\(([^)]*(?:\([^)]*\))?[^)]*)\)/g))
        if (!fromHelper(m[1]!)) bad.push(`${at}: runIf(${m[1]}) is not given by a skip helper`);
      if (/process\.env\.CI\b|\bIN_CI\b/.test(line))
        bad.push(`${at}: decides on CI=true itself; the skip helpers do (they throw under CI=true)`);
    });
  }
  return bad;
}

/** Skip helpers defined without going through serviceAvailable or requireTool (so without the CI rule). */
export function skipHelperProblems(files: FileSet): string[] {
  const bad: string[] = [];
  for (const name of SKIP_HELPERS.slice(2)) {
    const defs = [...files].flatMap(([f, text]) => {
      if (f.startsWith("test/layering/")) return [];
      const m = new RegExp(`export\\s+(?:async\\s+)?(?:function\\s+${name}\\b|const\\s+${name}\\s*=)`).exec(
        text,
      );
      if (!m) return [];
      const rest = text.slice(m.index + m[0].length, m.index + 800);
      return [{ f, body: rest.split(/\nexport /)[0]! }];
    });
    if (defs.length !== 1) bad.push(`${name}: defined ${defs.length} times`);
    for (const d of defs)
      if (!/\b(serviceAvailable|requireTool|postgresAvailable)\s*\(/.test(d.body))
        bad.push(`${d.f}: ${name} does not go through serviceAvailable or requireTool`);
  }
  return bad;
}
