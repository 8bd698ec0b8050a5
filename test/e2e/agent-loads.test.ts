import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asciiEscaped, buildCli } from "../../bin/build.js";
import { waitFor } from "../helpers/wait-for.ts";

// What `barnlink agent` loads on a gateway (issue #15 item 1): a module-load hook (node:module
// register) writes every URL node loads to a file while a real agent runs a sim-barn source, from
// the sources (through tsx) and from the production build. A gateway loads no cloud/ file and none
// of the packages only the cloud, the demo or the faces pipeline need.
const ROOT = join(import.meta.dirname, "../..");
const OUT = join(ROOT, "node_modules/.cache", `barnlink-loads-test-${process.pid}`);
const DIR = mkdtempSync(join(tmpdir(), "barnlink-loads-"));

/** Packages a gateway with a sim-barn source needs, and nothing else (tsx and esbuild: the dev loader). */
const AGENT_PACKAGES = ["better-sqlite3", "mqtt", "pino", "yaml", "zod"];
/** The production build bundles zod (bin/build.js): it loads none of zod's ~100 files from node_modules. */
const BUILD_PACKAGES = AGENT_PACKAGES.filter((p) => p !== "zod");
const DEV_LOADER = ["tsx", "esbuild"];
const NEVER = ["@tensorflow", "sharp", "aedes", "pg", "kysely", "fastify", "jsqr", "qrcode", "pdfkit"];

function writeFixtures(lean = false): { register: string; config: string } {
  writeFileSync(
    join(DIR, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) { appendFileSync(out, url + "\\n"); return next(url, context); }
`,
  );
  const register = join(DIR, "register.mjs");
  writeFileSync(
    register,
    `import { register } from "node:module";
register(new URL("./hooks.mjs", import.meta.url), { data: { out: process.env.LOADS_OUT } });
// node's own modules, also those a package require()s (the hook sees ES imports only)
import { writeFileSync } from "node:fs";
if (process.env.MODS_OUT)
  setInterval(() => writeFileSync(process.env.MODS_OUT, process.moduleLoadList.join("\\n")), 50).unref();
`,
  );
  const config = join(DIR, lean ? "agent-lean.yaml" : "agent.yaml");
  writeFileSync(
    config,
    [
      "device: loads-probe",
      `dataDir: ${join(DIR, "data")}`,
      "cloud:",
      // Nothing listens there: the link retries, which is all this test needs of it.
      '  mqtt: { url: "mqtt://127.0.0.1:9" }',
      "  publicKey: 3q2+7w0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      // lean: the peer job's settings (no page, a clock trusted as set: no time service asked)
      lean ? "http: { enabled: false }" : "http: { enabled: true, port: 0, host: 127.0.0.1 }",
      ...(lean ? ["clock: { synced: always }"] : []),
      "sources:",
      "  - driver: sim-barn",
      "    name: barn",
      "",
    ].join("\n"),
  );
  return { register, config };
}

/** Runs `agent --config` from `script` until its gateway page listens; returns the URLs it loaded. */
async function loadsOf(script: string, tag: string, lean = false): Promise<string[]> {
  const { register, config } = writeFixtures(lean);
  const out = join(DIR, `loads-${tag}.txt`);
  const log = join(DIR, `log-${tag}.txt`);
  writeFileSync(out, "");
  writeFileSync(log, "");
  let text = "";
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", register, script, "agent", "--config", config],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOADS_OUT: out, MODS_OUT: `${out}.node`, BARNLINK_LOG: "info" },
    },
  );
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  const exited = new Promise((r) => child.once("exit", r));
  try {
    // Started: every source running and the page up (the last thing `agent` does before it waits).
    const up = lean ? /agent started/ : /gateway page listening/;
    await waitFor(() => up.test(text) || child.exitCode !== null, "the agent to start", { timeoutMs: 90000 });
    expect(text).toMatch(up);
    // ...and the MQTT link has tried its broker (MQTT.js loads its transports at the first connect).
    await waitFor(() => /mqtt error/.test(text), "the link to try the broker", { timeoutMs: 90000 });
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
  return readFileSync(out, "utf8").split("\n").filter(Boolean);
}

/** node's own modules the last run of `loadsOf(…, tag)` had loaded. */
const nodeModulesOf = (tag: string) =>
  readFileSync(join(DIR, `loads-${tag}.txt.node`), "utf8")
    .split("\n")
    .filter((m) => m.startsWith("NativeModule "))
    .map((m) => m.slice("NativeModule ".length));

const packagesOf = (urls: string[]) =>
  [
    ...new Set(
      urls.flatMap((u) => {
        if (u.includes("/node_modules/.cache/")) return []; // the build under test
        const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
        return m?.[1] ? [m[1]] : [];
      }),
    ),
  ].sort();

const repoFilesOf = (urls: string[]) =>
  urls
    .filter((u) => u.startsWith("file:") && !u.includes("/node_modules/"))
    .map((u) => relative(ROOT, fileURLToPath(u)))
    .filter((p) => !p.startsWith(".."));

describe("barnlink agent loads the agent alone", () => {
  beforeAll(async () => {
    await buildCli(join(OUT, "barnlink.mjs"), { metafile: true });
  }, 120_000);
  afterAll(() => {
    rmSync(OUT, { recursive: true, force: true });
    rmSync(DIR, { recursive: true, force: true });
  });

  it("from the sources: no cloud/ file, no command but its own, only the agent's packages", async () => {
    const urls = await loadsOf(join(ROOT, "bin/barnlink.js"), "src");
    const files = repoFilesOf(urls);
    expect(files).toContain("sync/link.ts");
    expect(files).toContain("drivers/sim-barn/model.ts");
    expect(files.filter((f) => f.startsWith("cloud/"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("agent/commands/")).sort()).toEqual([
      "agent/commands/agent-run.ts",
      "agent/commands/gateway.ts",
      "agent/commands/index.ts",
    ]);
    // Folders a gateway's code comes from; models/ is only the faces and rollout configs.
    for (const f of files)
      expect(f).toMatch(
        /^(agent|bin|core|drivers|sync|models\/(pipeline\/config|pipeline\/faces-entry|errors|rollout\/\w+))[/.]/,
      );
    // Drivers not configured load no implementation (their packages would follow).
    expect(
      files.filter((f) => /^drivers\/(modbus|line|camera)\/(source|link|bus|grabbers)\.ts$/.test(f)),
    ).toEqual([]);
    expect(packagesOf(urls)).toEqual([...AGENT_PACKAGES, ...DEV_LOADER].sort());
  }, 120_000);

  it("from the production build: no chunk holding cloud code, the agent's packages only", async () => {
    const urls = await loadsOf(join(OUT, "barnlink.mjs"), "dist");
    expect(packagesOf(urls)).toEqual(BUILD_PACKAGES);
    const meta = JSON.parse(readFileSync(join(OUT, "meta.json"), "utf8")) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    // node_modules may be a symlink: node reports the real path, the metafile the path from the root.
    const real = realpathSync(OUT);
    const loaded = urls
      .filter((u) => u.startsWith("file:") && fileURLToPath(u).startsWith(`${real}/`))
      .map((u) => join(relative(ROOT, OUT), relative(real, fileURLToPath(u))));
    expect(loaded.length).toBeGreaterThan(1);
    const inputs = loaded.flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
    expect(inputs).toContain("sync/link.ts");
    expect(inputs.filter((i) => i.startsWith("cloud/"))).toEqual([]);
    // zod is in the chunks the agent loads, with its English locale alone (issue #15).
    expect(inputs.some((i) => /zod\/v4\/classic\/schemas\.js$/.test(i))).toBe(true);
    expect(inputs.filter((i) => /zod\/v4\/locales\//.test(i)).map((i) => i.replace(/.*\//, ""))).toEqual([
      "en.js",
    ]);
    for (const p of NEVER) expect(urls.some((u) => u.includes(`/node_modules/${p}/`))).toBe(false);
  }, 120_000);

  it("a gateway without its page or a time service to ask loads none of node's http, tls, child_process, readline or v8", async () => {
    // Each is 0.3–2.6 MB of RSS (node:https with tls the most); a peer-job gateway needs none (#15).
    await loadsOf(join(OUT, "barnlink-agent.mjs"), "lean", true);
    const mods = nodeModulesOf("lean");
    expect(mods).toContain("net");
    expect(mods).toContain("zlib"); // the batch codec
    for (const m of ["http", "https", "tls", "child_process", "readline", "v8", "cluster"])
      expect(mods, m).not.toContain(m);
  }, 120_000);

  it("the gateway bundle (barnlink-agent.mjs) reaches no cloud code at all, even through its lazy imports", () => {
    const meta = JSON.parse(readFileSync(join(OUT, "meta.json"), "utf8")) as {
      outputs: Record<
        string,
        { inputs: Record<string, unknown>; imports: Array<{ path: string; external?: boolean }> }
      >;
    };
    const start = relative(ROOT, join(OUT, "barnlink-agent.mjs"));
    expect(existsSync(join(ROOT, start))).toBe(true);
    const seen = new Set<string>();
    const pkgs = new Set<string>();
    const visit = (o: string) => {
      if (seen.has(o)) return;
      seen.add(o);
      for (const i of meta.outputs[o]?.imports ?? []) {
        if (i.external) pkgs.add(i.path.replace(/^((?:@[^/]+\/)?[^/]+).*$/, "$1"));
        else visit(i.path);
      }
    };
    visit(start);
    const inputs = [...seen].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
    expect(inputs).toContain("agent/commands/agent-run.ts");
    expect(inputs.filter((i) => i.startsWith("cloud/"))).toEqual([]);
    expect(inputs).not.toContain("agent/commands/demo.ts");
    // The cloud's packages are out of reach; tfjs and sharp are reached only by the faces and camera
    // drivers' lazy imports (a camera gateway loads them; the test above shows a sim-barn does not).
    expect(pkgs.has("better-sqlite3")).toBe(true);
    for (const p of ["aedes", "pg", "kysely", "fastify", "pdfkit", "@fastify/static"])
      expect(pkgs.has(p)).toBe(false);
  });

  it("every module of the build is ASCII, so V8 keeps its source one byte a character", () => {
    const meta = JSON.parse(readFileSync(join(OUT, "meta.json"), "utf8")) as {
      outputs: Record<string, unknown>;
    };
    const modules = Object.keys(meta.outputs).filter((o) => o.endsWith(".mjs"));
    expect(modules.length).toBeGreaterThan(2);
    const notAscii = modules.filter((o) => /[^\x00-\x7f]/.test(readFileSync(join(ROOT, o), "utf8")));
    expect(notAscii).toEqual([]);
    // The escape keeps a regular expression's meaning (drivers/line/parse.ts has `[%°/]`) and a string's.
    const source = 'return [/^[%°/]+$/, "—°"]; // a dash — in a comment';
    const [re, str] = new Function(asciiEscaped(source))() as [RegExp, string];
    expect(asciiEscaped(source)).not.toMatch(/[^\x00-\x7f]/);
    expect([re.test("°%"), re.test("?"), str]).toEqual([true, false, "—°"]);
  });
});
