import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../agent/cli.ts";
import { commands } from "../../agent/commands/index.ts";
import { permissionHint, probeLines } from "../../drivers/probe-hints.ts";

/** Runs the CLI in-process; returns the exit code and what it printed. */
async function cli(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((c) => {
    stdout += String(c);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((c) => {
    stderr += String(c);
    return true;
  });
  try {
    return { code: await main(argv, commands), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
afterEach(() => vi.restoreAllMocks());
const dir = mkdtempSync(join(tmpdir(), "bl-cli-"));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe("CLI rough edges", () => {
  it("every command group answers --help with its commands (model, drivers, devices, cloud, keys, config)", async () => {
    for (const group of ["model", "drivers", "devices", "cloud", "keys", "config"]) {
      const r = await cli(group, "--help");
      expect(r.code, group).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`barnlink ${group} — \\d+ commands?:`));
      expect(r.stdout).not.toMatch(/unknown command/);
    }
    const bare = await cli("drivers");
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/barnlink drivers probe/);
  });

  it("`drivers sample NAME` prints the driver's annotated sample config; an unknown name lists the drivers", async () => {
    const r = await cli("drivers", "sample", "modbus");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# .*\ndriver: modbus\n/);
    const bad = await cli("drivers", "sample", "modbuss");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown driver "modbuss"; known drivers: .*modbus/);
  });

  it("an empty config is refused, for the cloud as for the agent", async () => {
    for (const text of ["", "# only a comment\n", "{}\n"]) {
      const r = await cli("config", "check", file("empty.yaml", text), "--kind", "cloud");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/the config is empty.*\[BL_CONFIG_INVALID\]/s);
    }
  });

  it("a YAML error ends with its position, not a dangling ':'", async () => {
    const r = await cli("config", "check", file("bad.yaml", "a: [1, 2\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/at line \d+, column \d+ \[BL_CONFIG_READ\]\n$/);
    expect(r.stderr).not.toMatch(/: \[BL_/);
  });

  it("a cloud devices[].publicKey that is not an Ed25519 key is named with its path", async () => {
    const r = await cli(
      "config",
      "check",
      file(
        "cloud.yaml",
        "mqtt: {url: 'mqtt://127.0.0.1:1883'}\ndevices:\n  - id: barn-1\n    publicKey: not-a-key\n",
      ),
      "--kind",
      "cloud",
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/devices\[0\]\.publicKey: base64 of a 32-byte Ed25519 public key/);
  });

  it("a bad argument is one line with exit 2, never a zod dump (demo --http-port abc)", async () => {
    const r = await cli("demo", "--http-port", "abc");
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--http-port must be a port number 0–65535.*"abc".*\[BL_USAGE\]/);
    expect(r.stderr).not.toMatch(/"code":|invalid_type/);
  });
});

describe("probe output for installers", () => {
  const denied = "Error: Permission denied, cannot open /dev/ttyUSB0";
  it("a permission error shared by every device on a bus is printed once, with the fix once", () => {
    const results = ["climate", "ammonia", "silo", "water"].map((subject) => ({
      subject,
      ok: false,
      error: denied,
    }));
    const lines = probeLines(results, () => "");
    expect(lines.filter((l) => l.includes("Permission denied"))).toHaveLength(1);
    expect(lines.join("\n")).toMatch(/same error for ammonia, silo, water/);
    const hint = permissionHint(results.map((r) => r.error));
    expect(hint).toMatch(/may not open \/dev\/ttyUSB0/);
    expect(hint).toMatch(/usermod -aG dialout/);
    expect(hint).toMatch(/\/dev\/serial\/by-id/);
    expect(permissionHint(["timeout: no answer from unit 3"])).toBeNull();
  });
});
