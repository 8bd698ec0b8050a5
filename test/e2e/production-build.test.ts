import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../bin/build.js";

// `npm run build` into a folder of its own inside the package (the bundle finds its assets and
// packages from there, as dist/barnlink.mjs does), then the commands that read assets, under plain node.
const ROOT = join(import.meta.dirname, "../..");
const OUT = join(ROOT, "node_modules/.cache", `barnlink-build-test-${process.pid}`);
const BUNDLE = join(OUT, "barnlink.mjs");

function run(args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout,
    env: { ...process.env, BARNLINK_LOG: "error" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("production build (npm run build → node dist/barnlink.mjs)", () => {
  beforeAll(async () => {
    await buildCli(BUNDLE);
  });
  afterAll(() => rmSync(OUT, { recursive: true, force: true }));

  it("is ES modules with source maps (the CLI, the gateway alone, lazy chunks), and runs without tsx", () => {
    expect(existsSync(BUNDLE)).toBe(true);
    expect(existsSync(join(OUT, "barnlink-agent.mjs"))).toBe(true);
    expect(existsSync(`${BUNDLE}.map`)).toBe(true);
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: barnlink <command>/);
    expect(r.stdout).toMatch(/agent/);
  });

  it("checks the example agent config", () => {
    const r = run(["config", "check", join(ROOT, "docs/examples/agent.yaml")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid agent config/);
  });

  it("replays a loan scenario (reads the species profiles)", () => {
    const r = run(["scenario", join(ROOT, "docs/scenarios/heat-wave.yaml")]);
    expect(r.stderr).not.toMatch(/\n\s+at |BL_LENDING_PROFILE|ENOENT/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/held|hold/);
  });

  it("is what the systemd units run", () => {
    for (const unit of ["barnlink-agent.service", "barnlink-cloud.service"]) {
      const text = readFileSync(join(ROOT, "deploy", unit), "utf8");
      expect(text).toMatch(
        /^ExecStart=\/usr\/bin\/node (--[\w-]+(=\w+)? |\$BARNLINK_NODE_FLAGS )*\/opt\/barnlink\/current\/dist\/barnlink(-agent)?\.mjs /m,
      );
    }
  });

  it("writes the gateway unit's node flags from the config, as its ExecStartPre= runs it", () => {
    const unit = readFileSync(join(ROOT, "deploy/barnlink-agent.service"), "utf8");
    const pre =
      /^ExecStartPre=-\/usr\/bin\/node \/opt\/barnlink\/current\/dist\/barnlink-agent\.mjs (.+) --write (\S+)$/m.exec(
        unit,
      );
    expect(pre, "ExecStartPre= runs agent node-flags").not.toBeNull();
    expect(unit).toContain(`EnvironmentFile=-${pre![2]}`);
    const dir = mkdtempSync(join(tmpdir(), "bl-flags-"));
    try {
      const env = join(dir, "node-flags.env");
      const gateway = (config: string) => {
        const args = pre![1]!.replace("/etc/barnlink/agent.yaml", config).split(" ");
        return spawnSync(process.execPath, [join(OUT, "barnlink-agent.mjs"), ...args, "--write", env], {
          cwd: ROOT,
          encoding: "utf8",
        });
      };
      // Sensors only (the example: Modbus and a simulated barn): lite mode.
      const example = join(ROOT, "docs/examples/agent.yaml");
      const sensors = gateway(example);
      expect(sensors.stderr).toMatch(/no source needs WebAssembly/);
      expect(sensors.status).toBe(0);
      expect(readFileSync(env, "utf8")).toBe(
        "BARNLINK_NODE_FLAGS=--no-expose-wasm --lite-mode --bytecode-old-age=1\n",
      );
      // With a camera: none (sharp, hashes and tfjs's WebAssembly backend need V8's compilers).
      const camera = join(dir, "camera.yaml");
      writeFileSync(camera, `${readFileSync(example, "utf8")}  - driver: sim-camera\n    name: pen1\n`);
      const faces = gateway(camera);
      expect(faces.stderr).toMatch(/pen1 need WebAssembly/);
      expect(faces.status).toBe(0);
      expect(readFileSync(env, "utf8")).toBe("BARNLINK_NODE_FLAGS=\n");
      // A config that does not load: the file says no flags, the exit names the problem.
      writeFileSync(join(dir, "bad.yaml"), "device: [\n");
      writeFileSync(env, "BARNLINK_NODE_FLAGS=--lite-mode\n");
      const bad = gateway(join(dir, "bad.yaml"));
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/bad\.yaml/);
      expect(readFileSync(env, "utf8")).toBe("BARNLINK_NODE_FLAGS=\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Everything else that reads files beside the code: the dashboard and uPlot, the gateway page, the
  // shipped pig-face model and the wasm backend (barn 2), the Modbus slave script (when pymodbus is
  // installed), and barn agents forked from the bundle itself.
  it("runs the demo: broker, cloud and barn agents from the bundle, every record committed", () => {
    const r = run(["demo", "--duration", "12s", "--http-port", "0", "--mqtt-port", "0"], 150_000);
    expect(r.stderr).not.toMatch(/Error|\n\s+at /);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^\s+barn-\d/.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/every record committed/);
    // (Tranche decisions need a simulated day or more: the scenario test above covers the profiles.)
  });
});
