import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { GATEWAY_ROOTS, LAYERS, type LayerRule } from "./rules.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SKIP = new Set(["node_modules", ".git", "dist", "coverage"]);

function sources(dir = ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(relative(ROOT, p));
  }
  return out;
}

/** Static imports, re-exports and dynamic imports with a literal specifier (comments stripped). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re =
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

const exempt = (f: string) =>
  /\.test\.ts$/.test(f) || f.startsWith("test/") || f.includes("/test/") || f.startsWith("bench/");
const ruleFor = (f: string): LayerRule | undefined =>
  LAYERS.filter((r) => (r.path.endsWith("/") ? f.startsWith(r.path) : f === r.path)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
const ownFolder = (r: LayerRule) => (r.path.endsWith("/") ? r.path : `${dirname(r.path)}/`);
const builtins = new Set(builtinModules);
const packageOf = (spec: string) =>
  spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
/** The edges a rule forbids, as "file -> import" lines. */
function violations(files: string[]): string[] {
  const bad: string[] = [];
  for (const f of files) {
    if (exempt(f)) continue;
    const rule = ruleFor(f);
    if (!rule) continue;
    for (const spec of importsOf(f)) {
      if (spec.startsWith(".")) {
        const target = relative(ROOT, resolve(ROOT, dirname(f), spec));
        if (target.startsWith("..")) continue;
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

describe("layering (test/layering/rules.ts)", () => {
  const files = sources();

  it("reads imports of every kind", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(importsOf("sync/outbox/sqlite-outbox.ts")).toContain("./sqlite-layout.ts");
  });

  it("no source file imports what its folder's rule forbids", () => {
    expect(violations(files)).toEqual([]);
  });

  it("catches a forbidden edge (the test can fail)", () => {
    // The three breaks fixed for #14, as they were: each must count as a violation.
    const rule = (f: string) => ruleFor(f)!;
    expect(rule("core/metrics.ts").packages).not.toContain("prom-client");
    expect(
      rule("cloud/models/publish.ts").mayImport.some((a) => "models/rollout/sign.ts".startsWith(a)),
    ).toBe(false);
    expect(rule("drivers/common/x.ts").mayImport.some((a) => "sync/kinds.ts".startsWith(a))).toBe(false);
  });

  it("each README's 'May import' names what its rule allows", () => {
    for (const r of LAYERS.filter((l) => l.readme)) {
      const text = readFileSync(join(ROOT, r.readme!), "utf8");
      const para = text.slice(text.indexOf("May import")).split("\n\n")[0]!;
      expect(para, r.readme).toMatch(/May import/);
      for (const a of r.mayImport) expect(para, `${r.readme} should name ${a}`).toContain(a);
      for (const p of r.packages ?? []) expect(para, `${r.readme} should name ${p}`).toContain(p);
    }
  });

  it("the gateway runtime reaches no cloud/ file through static imports", () => {
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const spec of importsOf(f)) {
        if (!spec.startsWith(".")) continue;
        // Dynamic imports load only when their command or source runs.
        if (new RegExp(`import\\s*\\(\\s*["']${spec.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']`).test(text))
          continue;
        const t = relative(ROOT, resolve(ROOT, dirname(f), spec));
        if (existsSync(join(ROOT, t))) walk(t);
      }
    };
    for (const r of GATEWAY_ROOTS) walk(r);
    expect([...seen].filter((f) => f.startsWith("cloud/"))).toEqual([]);
  });

  it("the READMEs of sync/, sync/outbox/, agent/ and test/helpers/ name each of their source files", () => {
    const listed: Array<[string, string]> = [
      ["sync/", "sync/README.md"],
      ["sync/outbox/", "sync/README.md"],
      ["agent/", "agent/README.md"],
      ["test/helpers/", "test/README.md"],
    ];
    const missing: string[] = [];
    for (const [dir, readme] of listed) {
      const text = readFileSync(join(ROOT, readme), "utf8");
      for (const f of readdirSync(join(ROOT, dir)))
        if (f.endsWith(".ts") && !f.endsWith(".test.ts") && !text.includes(f))
          missing.push(`${readme}: ${dir}${f}`);
    }
    expect(missing).toEqual([]);
  });
});
