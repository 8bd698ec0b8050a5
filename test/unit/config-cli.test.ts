import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tmpDir } from "../helpers/services.ts";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");
function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", input, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function file(text: string, name = "c.yaml") {
  const p = join(tmpDir(), name);
  writeFileSync(p, text);
  return p;
}
const KEY = "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMDA=";

describe("barnlink config check", () => {
  it("accepts a valid agent config", () => {
    const r = cli([
      "config",
      "check",
      file(`device: barn-1\ncloud:\n  publicKey: ${KEY}\nsources:\n  - driver: sim-barn\n    name: barn\n`),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid agent config/);
  });

  it("prints every problem with its path and exits 2, without a stack trace", () => {
    const r = cli([
      "config",
      "check",
      file(
        [
          "device: barn 1",
          "cloud:",
          "  publicKey: short",
          "  mqtt: { url: http://x }",
          "sync: { window: many, ackTimeot: 5s }",
          "sources:",
          "  - driver: sim-barn",
          "    name: barn",
          "    headPlaced: lots",
          "  - driver: teleporter",
          "    name: x",
        ].join("\n"),
      ),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/device: use letters/);
    expect(r.stderr).toMatch(/cloud\.publicKey: base64/);
    expect(r.stderr).toMatch(/cloud\.mqtt\.url: an mqtt:\/\//);
    expect(r.stderr).toMatch(/sync\.window: expected number, got "many"/);
    expect(r.stderr).toMatch(/sync\.ackTimeot: unknown key/);
    expect(r.stderr).toMatch(/sources\[0\]\.headPlaced: expected number, got "lots"/);
    expect(r.stderr).toMatch(/sources\[1\]\.driver: unknown driver "teleporter"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("names a YAML syntax error, a missing file, and a cloud config's problems", () => {
    const y = cli(["config", "check", file("device: [unclosed")]);
    expect(y.code).toBe(2);
    expect(y.stderr).toMatch(/not valid YAML/);
    const m = cli(["config", "check", "/nonexistent/x.yaml"]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/cannot read \(ENOENT\)/);
    const c = cli([
      "config",
      "check",
      "--kind",
      "cloud",
      file("http: { port: 99999 }\ntokens:\n  - { name: a, role: king, token: short }\n"),
    ]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/http\.port/);
    expect(c.stderr).toMatch(/tokens\[0\]\.role/);
    expect(c.stderr).toMatch(/tokens\[0\]\.token: tokens must be at least 16/);
  });

  it("rejects unknown commands and flags with exit 2 and usage", () => {
    expect(cli(["frobnicate"]).code).toBe(2);
    const r = cli(["status", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: barnlink status/);
    expect(cli(["status"]).stderr).toMatch(/missing --config FILE/);
  });

  it("decode reads concatenated frames from stdin and reports garbage", () => {
    const r = cli(["decode"], "garbage");
    expect(r.code).toBe(1);
  });
});
