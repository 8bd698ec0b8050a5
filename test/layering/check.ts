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
