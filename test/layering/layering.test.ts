import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cloudReachedFrom,
  type FileSet,
  importsOf,
  ruleFor,
  skipHelperProblems,
  skipStyleViolations,
  unlistedFiles,
  violations,
} from "./check.ts";
import { GATEWAY_ROOTS, LAYERS } from "./rules.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SKIP = new Set(["node_modules", ".git", "dist", "coverage"]);

/** Every source file and README of the repository, by path from the root. */
function repository(dir = ROOT, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) repository(p, out);
    else if (/\.(ts|js|mjs|py)$/.test(e.name) || e.name === "README.md")
      out.set(relative(ROOT, p), readFileSync(p, "utf8"));
  }
  return out;
}

const code = (files: FileSet) =>
  new Map([...files].filter(([f]) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith(".d.ts")));
/** Folders without a README of their own whose files another README lists. */
const LISTED_ELSEWHERE: Array<[string, string]> = [
  ["sync/outbox/", "sync/README.md"],
  ["test/helpers/", "test/README.md"],
];

describe("layering (test/layering/rules.ts)", () => {
  const repo = repository();
  const files = code(repo);

  it("reads imports of every kind", () => {
    expect(files.size).toBeGreaterThan(100);
    expect(importsOf(files.get("sync/outbox/sqlite-outbox.ts")!)).toContain("./sqlite-layout.ts");
    expect(
      importsOf(
        'import a from "./a.ts";\nexport { b } from "../b.ts";\nimport "./c.ts";\nconst d = await import("./d.ts");\n// import x from "./commented.ts";',
      ),
    ).toEqual(["./a.ts", "../b.ts", "./c.ts", "./d.ts"]);
  });

  it("no source file imports what its folder's rule forbids", () => {
    expect(violations(files)).toEqual([]);
  });

  it("the gateway runtime reaches no cloud/ file through static imports", () => {
    expect(cloudReachedFrom(GATEWAY_ROOTS, files)).toEqual([]);
  });

  it("each README's 'May import' names what its rule allows", () => {
    for (const r of LAYERS.filter((l) => l.readme)) {
      const text = repo.get(r.readme!)!;
      const para = text.slice(text.indexOf("May import")).split("\n\n")[0]!;
      expect(para, r.readme).toMatch(/May import/);
      for (const a of r.mayImport) expect(para, `${r.readme} should name ${a}`).toContain(a);
      for (const p of r.packages ?? []) expect(para, `${r.readme} should name ${p}`).toContain(p);
    }
  });

  it("every folder README names each source file of its folder", () => {
    expect(unlistedFiles(repo, LISTED_ELSEWHERE)).toEqual([]);
  });

  it("tests skip one way: runIf with a skip helper's flag (reason printed off CI, a failure under CI=true)", () => {
    expect(skipStyleViolations(files)).toEqual([]);
    expect(skipHelperProblems(files)).toEqual([]);
  });
});

/** The checks can fail: each kind of rule, fed a planted break. */
describe("the layering checks catch planted breaks", () => {
  it("a folder edge its rule forbids (core/ importing sync/, cloud/ importing models/)", () => {
    const planted = new Map([
      ["core/planted.ts", 'import { kinds } from "../sync/kinds.ts";\nimport { now } from "./clock.ts";'],
      ["cloud/models/planted.ts", 'export { signModel } from "../../models/rollout/sign.ts";'],
      ["drivers/common/planted.ts", 'const k = await import("../../sync/kinds.ts");'],
      ["cloud/x.test.ts", 'import "../models/rollout/sign.ts";'], // tests may import anything
    ]);
    expect(violations(planted)).toEqual([
      "core/planted.ts -> sync/kinds.ts",
      "cloud/models/planted.ts -> models/rollout/sign.ts",
      "drivers/common/planted.ts -> sync/kinds.ts",
    ]);
  });

  it("a package its folder may not use (core/ importing prom-client)", () => {
    const planted = new Map([
      [
        "core/planted.ts",
        'import client from "prom-client";\nimport { z } from "zod";\nimport { readFileSync } from "node:fs";',
      ],
    ]);
    expect(violations(planted)).toEqual(["core/planted.ts -> prom-client (package)"]);
    expect(ruleFor("core/metrics.ts")!.packages).not.toContain("prom-client");
  });

  it("the gateway runtime reaching cloud/ through a static import, not a dynamic one", () => {
    const planted = new Map([
      [
        "agent/agent.ts",
        'import { helper } from "./helper.ts";\nconst later = () => import("../cloud/lazy.ts");',
      ],
      ["agent/helper.ts", 'import { openDb } from "../cloud/db/connect.ts";'],
      ["cloud/db/connect.ts", 'import { sql } from "../sql.ts";'],
      ["cloud/sql.ts", ""],
      ["cloud/lazy.ts", ""],
    ]);
    expect(cloudReachedFrom(["agent/agent.ts"], planted).sort()).toEqual([
      "cloud/db/connect.ts",
      "cloud/sql.ts",
    ]);
  });

  it("a folder README that leaves out one of its files", () => {
    const planted = new Map([
      ["drivers/x/README.md", "# x\n- `source.ts`: the source\n"],
      ["drivers/x/source.ts", ""],
      ["drivers/x/forgotten.ts", ""],
      ["drivers/x/source.test.ts", ""],
      ["sync/outbox/queue.ts", ""],
      ["sync/README.md", "# sync\n"],
    ]);
    expect(unlistedFiles(planted, LISTED_ELSEWHERE)).toEqual([
      "drivers/x/README.md -> drivers/x/forgotten.ts",
      "sync/README.md -> sync/outbox/queue.ts",
    ]);
  });

  it("a test that skips another way: t.skip(), ctx.skip(), skipIf, a bare return, a runIf flag of its own, CI=true", () => {
    const planted = new Map([
      [
        "cloud/x/planted.test.ts",
        [
          'import { postgresAvailable } from "../../test/helpers/services.ts";',
          "let ready = false;",
          'it("a", async (t) => {',
          "  if (!ready) return t.skip();",
          "});",
          'it("b", async (ctx) => { ctx.skip(); });',
          'it.skipIf(!ready)("c", () => {});',
          'it("d", async () => {',
          "  if (!(await postgresAvailable())) return;",
          "});",
          'describe.runIf(process.env.PG === "1")("e", () => {});',
          'if (process.env.CI === "true") throw new Error("needed");',
        ].join("\n"),
      ],
      [
        "cloud/x/fine.test.ts",
        [
          "const pgUp = await postgresAvailable();",
          "const both = pgUp && (await mosquittoAvailable());",
          'const cases = [["pg", pgUp]];',
          'describe.each(cases)("%s", (_n, ok) => { it.runIf(ok)("x", () => {}); });',
          'describe.runIf(both)("y", () => { it("z", async () => { await robot.skip("room", "door closed"); }); });',
          'it.runIf(requireTool("socat"))("w", () => {});',
        ].join("\n"),
      ],
      ["cloud/x/not-a-test.ts", "if (!ok) return t.skip();"],
    ]);
    expect(skipStyleViolations(planted)).toEqual([
      "cloud/x/planted.test.ts:4: skips with .skip(); use describe/it.runIf(flag from a skip helper)",
      "cloud/x/planted.test.ts:6: skips with .skip(); use describe/it.runIf(flag from a skip helper)",
      "cloud/x/planted.test.ts:7: skipIf; use runIf(flag from a skip helper)",
      "cloud/x/planted.test.ts:9: returns when a service is missing (reported as a pass); use runIf",
      'cloud/x/planted.test.ts:11: runIf(process.env.PG === "1") is not given by a skip helper',
      "cloud/x/planted.test.ts:12: decides on CI=true itself; the skip helpers do (they throw under CI=true)",
    ]);
  });

  it("a skip helper that does not go through serviceAvailable or requireTool", () => {
    const planted = new Map([
      ["test/helpers/services.ts", "export const postgresAvailable = () => serviceAvailable('pg', probe);"],
      [
        "test/helpers/mosquitto.ts",
        "export const mosquittoBinaryAvailable = async () => existsSync('/usr/sbin/mosquitto');",
      ],
    ]);
    expect(skipHelperProblems(planted)).toEqual(
      expect.arrayContaining([
        "test/helpers/mosquitto.ts: mosquittoBinaryAvailable does not go through serviceAvailable or requireTool",
        "chromiumAvailable: defined 0 times",
      ]),
    );
    expect(skipHelperProblems(planted).join("\n")).not.toContain("postgresAvailable does not");
  });
});
