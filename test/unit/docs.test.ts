import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { agentConfigSchema } from "../../agent/config.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { loadConfigFile } from "../../core/config.ts";
import { declaredErrors } from "../../core/errors.ts";
import { schemaKeys } from "../../core/schema-keys.ts";

const ROOT = join(import.meta.dirname, "../..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

describe("docs match the code", () => {
  it("every error code declared anywhere is in docs/errors.md with its HTTP status", async () => {
    for (const f of sources(ROOT).filter((f) => readFileSync(f, "utf8").includes("defineError("))) {
      if (!relative(ROOT, f).startsWith("core/errors.ts")) await import(f);
    }
    const doc = read("docs/errors.md");
    const missing = declaredErrors().filter(
      (e) => !new RegExp(`\\|\\s*\`${e.code}\`\\s*\\|\\s*${e.statusCode}\\s*\\|`).test(doc),
    );
    expect(missing.map((e) => `| \`${e.code}\` | ${e.statusCode} | ${e.description} |`).join("\n")).toBe("");
    expect(declaredErrors().length).toBeGreaterThan(15);
  });

  it("every agent and cloud config key is in docs/configuration.md", () => {
    const doc = read("docs/configuration.md");
    const keys = [...schemaKeys(agentConfigSchema(), ["sources"]), ...schemaKeys(cloudConfigSchema)].map(
      (k) => k.path,
    );
    expect(keys.filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });

  it("the annotated examples validate and appear verbatim in docs/configuration.md", () => {
    const doc = read("docs/configuration.md");
    loadConfigFile(join(ROOT, "docs/examples/agent.yaml"), agentConfigSchema());
    loadConfigFile(join(ROOT, "docs/examples/cloud.yaml"), cloudConfigSchema);
    expect(doc).toContain(read("docs/examples/agent.yaml"));
    expect(doc).toContain(read("docs/examples/cloud.yaml"));
  });

  it("every top-level folder has a README saying what lives there and what it may import", () => {
    for (const dir of ["agent", "drivers", "models", "sync", "cloud", "core", "test", "docs", "bench"]) {
      const p = join(ROOT, dir, "README.md");
      expect(existsSync(p), `${dir}/README.md`).toBe(true);
      expect(readFileSync(p, "utf8"), `${dir}/README.md says what it may import`).toMatch(/import/i);
    }
  });
});
