import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");
const PTY = join(import.meta.dirname, "pty-ctrl-c.py");
const scratch = mkdtempSync(join(tmpdir(), "barnlink-pty-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Processes whose command line names `dir` (agents, socat, the pymodbus slave of one demo run). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(dir) && !cmd.includes("pty-ctrl-c.py")) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone already
    }
  }
  return found;
}

/** Runs the demo in a real pty and types Ctrl-C once its output matches `trigger`. */
function demoInTerminal(trigger: string, extra: string[] = []) {
  const tmp = mkdtempSync(join(scratch, "run-"));
  const child = spawn(
    "/usr/bin/python3",
    [
      PTY,
      trigger,
      "240",
      "--",
      process.execPath,
      BIN,
      "demo",
      "--http-port",
      "0",
      "--mqtt-port",
      "0",
      ...extra,
    ],
    { env: { ...process.env, BARNLINK_LOG: "error", TMPDIR: tmp, COLUMNS: "200" } },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    output += c.toString();
  });
  return new Promise<{ code: number | null; output: string; tmp: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, output, tmp })),
  );
}

describe("demo in a terminal: Ctrl-C goes to the whole foreground process group", () => {
  it("drains every gateway, prints the summary with every record committed, exits 0", async () => {
    // Ctrl-C once both barns have had records committed.
    const r = await demoInTerminal("barn-1 \\d+/[1-9]\\d*/\\d+ · barn-2 \\d+/[1-9]\\d*/\\d+", [
      "--barns",
      "2",
    ]);
    expect(r.output).toMatch(/\[pty\] typed Ctrl-C/);
    expect(r.output).not.toMatch(/\n\s+at |EPIPE|Error:/);
    expect(r.output).toMatch(/summary/);
    const rows = r.output.split(/\r?\n/).filter((l) => /^\s+barn-\d\s+\d+/.test(l));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^\s+barn-\d\s+(\d+)\s+\1\s+0\s+every record committed/);
    expect(r.code).toBe(0);
    expect(processesUnder(r.tmp)).toEqual([]);
    expect(readdirSync(r.tmp).filter((f) => f.startsWith("barnlink-"))).toEqual([]); // tsx keeps its cache there too
  }, 300_000);

  it("Ctrl-C during start-up stops everything it started and leaves no temporary folder", async () => {
    const r = await demoInTerminal("MQTT broker", ["--barns", "1"]);
    expect(r.output).toMatch(/\[pty\] typed Ctrl-C/);
    expect(r.output).not.toMatch(/\n\s+at |EPIPE|Error:/);
    expect(r.output).toMatch(/stopped during start-up/);
    expect(r.code).toBe(0);
    expect(processesUnder(r.tmp)).toEqual([]);
    expect(readdirSync(r.tmp).filter((f) => f.startsWith("barnlink-"))).toEqual([]); // tsx keeps its cache there too
  }, 300_000);
});
