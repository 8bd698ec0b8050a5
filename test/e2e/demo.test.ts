import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait-for.ts";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");

describe("npm start -- --duration", () => {
  it("runs broker, cloud and three barn processes, stops by itself, and commits every record produced", () => {
    const r = spawnSync(
      process.execPath,
      [BIN, "demo", "--duration", "20s", "--http-port", "0", "--mqtt-port", "0"],
      {
        encoding: "utf8",
        timeout: 420_000,
        env: { ...process.env, BARNLINK_LOG: "error" },
      },
    );
    expect(r.stderr).not.toMatch(/Error|\n\s+at /);
    expect(r.status).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^\s+barn-\d/.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const [, produced, committed, pending] = row.trim().split(/\s+/).map(Number);
      expect(produced).toBeGreaterThan(100);
      expect(committed).toBe(produced);
      expect(pending).toBe(0);
      expect(row).toMatch(/every record committed/);
    }
    expect(r.stdout).toMatch(/tranche decisions/);
    expect(r.stdout).toMatch(/release/);
    // The data-centre patrol robot runs beside the barns, and drains too (its away budget lifted).
    expect(r.stdout).toMatch(/dc-robot-1\s+\d+\s+\d+\s+0\s+every record committed/);
  }, 450_000);

  it("stops cleanly on Ctrl-C (SIGINT): drains, prints the summary, exits 0", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "demo", "--barns", "1", "--http-port", "0", "--mqtt-port", "0"],
      {
        env: { ...process.env, BARNLINK_LOG: "error" },
      },
    );
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Start-up waits for every agent (a cold tsx start is slow on a busy machine).
    // Ctrl-C once barn 1 has had records committed (its status line, printed every 5 s off a terminal).
    await waitFor(
      () => /barn-1 \d+\/[1-9]\d*\/\d+/.test(stdout) || child.exitCode !== null,
      "records committed",
      {
        timeoutMs: 300_000,
      },
    );
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/summary/);
    expect(stdout).toMatch(/barn-1\s+\d+\s+\d+\s+0\s+every record committed/);
  }, 450_000);

  it("refuses bad arguments with exit 2", () => {
    const r = spawnSync(process.execPath, [BIN, "demo", "--duration", "soon"], {
      encoding: "utf8",
      timeout: 180_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--duration: not a duration/);
  }, 200_000);
});
