import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliInProcess, cliProcess } from "../helpers/cli.ts";
import { tmpDir } from "../helpers/services.ts";

// In process (test/helpers/cli.ts): a child process per case timed out on a busy machine.
const cli = cliInProcess;
function file(text: string, name = "c.yaml") {
  const p = join(tmpDir(), name);
  writeFileSync(p, text);
  return p;
}
const KEY = "Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMDA=";

describe("barnlink config check", () => {
  it("accepts a valid agent config", async () => {
    const r = await cli([
      "config",
      "check",
      file(`device: barn-1\ncloud:\n  publicKey: ${KEY}\nsources:\n  - driver: sim-barn\n    name: barn\n`),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid agent config/);
  });

  it("prints every problem with its path and exits 2, without a stack trace", async () => {
    const r = await cli([
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

  it("names a YAML syntax error, a missing file, and a cloud config's problems", async () => {
    const y = await cli(["config", "check", file("device: [unclosed")]);
    expect(y.code).toBe(2);
    expect(y.stderr).toMatch(/not valid YAML/);
    const m = await cli(["config", "check", "/nonexistent/x.yaml"]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/cannot read \(ENOENT\)/);
    const c = await cli([
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

  it("a bad flag value is an argument error: one coded line, exit 2 (not 1)", async () => {
    const k = await cli(["config", "check", "--kind", "foo", file("device: barn-1\n")]);
    expect(k.code).toBe(2);
    expect(k.stderr).toBe("barnlink config check: --kind must be agent or cloud, got foo [BL_USAGE]\n");
    const d = await cli(["loadgen", "--duration", "soon"]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/^barnlink loadgen: --duration: not a duration: "soon" .*\[BL_USAGE\]\n$/);
  });

  it("rejects unknown commands and flags with exit 2 and usage", async () => {
    expect((await cli(["frobnicate"])).code).toBe(2);
    const r = await cli(["status", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: barnlink status/);
    expect((await cli(["status"])).stderr).toMatch(/missing --config FILE/);
  });

  it("decode reads concatenated frames from stdin and reports garbage", async () => {
    const r = cliProcess(["decode"], "garbage");
    expect(r.code).toBe(1);
  });
});
