import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAvailable } from "../helpers/services.ts";

// The documented production install (docs/install-pi.md: `npm ci --omit=dev && npm run build`) in a
// temporary copy of the package, from the npm registry, then the agent and the cloud run from that
// build under plain node. A dev dependency the build needs would fail here (ERR_MODULE_NOT_FOUND),
// as qrcode once did. Installing takes minutes (better-sqlite3 compiles where no prebuilt binary can
// be fetched), hence the long timeouts.
const ROOT = join(import.meta.dirname, "../..");
const SKIP = new Set(["node_modules", "dist", ".git", ".demo", ".data", "test-artifacts", "coverage"]);
const MIN = 60_000;

function sh(cmd: string, args: string[], cwd: string, timeout: number) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout,
    env: { ...process.env, BARNLINK_LOG: "error", npm_config_audit: "false", npm_config_fund: "false" },
  });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
}

const registryUp = () =>
  serviceAvailable("the npm registry (npm ping)", async () => sh("npm", ["ping"], ROOT, MIN).code === 0);

const ok = await registryUp();

describe.runIf(ok)("production install: npm ci --omit=dev, npm run build, run from the build", async () => {
  const dir = mkdtempSync(join(tmpdir(), "barnlink-install-"));
  const pkg = join(dir, "barnlink");
  const node = (args: string[], timeout = 3 * MIN) => sh(process.execPath, args, pkg, timeout);

  beforeAll(() => {
    cpSync(ROOT, pkg, { recursive: true, filter: (src) => !SKIP.has(basename(src)) });
    const install = sh("npm", ["ci", "--omit=dev"], pkg, 45 * MIN);
    expect(install.code, install.out.slice(-4000)).toBe(0);
    // No dev dependency was installed: what follows runs on production packages alone.
    for (const dev of ["vitest", "typescript", "@biomejs/biome", "fast-check", "playwright-core"])
      expect(existsSync(join(pkg, "node_modules", dev)), dev).toBe(false);
    const build = sh("npm", ["run", "build"], pkg, 5 * MIN);
    expect(build.code, build.out).toBe(0);
  }, 52 * MIN);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the CLI and the gateway bundle start", () => {
    const cli = node(["dist/barnlink.mjs", "--help"]);
    expect(cli.out).toMatch(/usage: barnlink <command>/);
    expect(cli.code).toBe(0);
    const gw = node(["dist/barnlink-agent.mjs", "--help"]);
    expect(gw.code).toBe(0);
    expect(gw.out).toMatch(/agent/);
    expect(gw.out).not.toMatch(/cloud run/);
    const check = node(["dist/barnlink.mjs", "config", "check", "docs/examples/agent.yaml"]);
    expect(check.out).toMatch(/valid agent config/);
  });

  // The demo runs the broker, the cloud (SQLite) and three barn agents, each agent forked from the
  // build: the agent and the cloud from the production install, every record committed.
  it(
    "runs the agent and the cloud from the build: every record committed",
    () => {
      const r = node(
        ["dist/barnlink.mjs", "demo", "--duration", "12s", "--http-port", "0", "--mqtt-port", "0"],
        5 * MIN,
      );
      expect(r.out).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(r.code, r.out.slice(-3000)).toBe(0);
      const rows = r.out.split("\n").filter((l) => /^\s+barn-\d/.test(l));
      expect(rows).toHaveLength(3);
      for (const row of rows) expect(row).toMatch(/every record committed/);
    },
    6 * MIN,
  );
});
