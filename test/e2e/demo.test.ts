import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");

describe("npm start -- --duration", () => {
  it("runs broker, cloud and three barn processes, stops by itself, and commits every record produced", () => {
    const r = spawnSync(
      process.execPath,
      [BIN, "demo", "--duration", "12s", "--http-port", "0", "--mqtt-port", "0"],
      {
        encoding: "utf8",
        timeout: 150_000,
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
  });

  it("refuses bad arguments with exit 2", () => {
    const r = spawnSync(process.execPath, [BIN, "demo", "--duration", "soon"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--duration: not a duration/);
  });
});
