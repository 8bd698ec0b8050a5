import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/barnlink.js");
const hogs: ChildProcess[] = [];
afterAll(() => {
  for (const h of hogs) h.kill("SIGKILL");
});

describe("the demo on a busy machine", () => {
  it("still tells the README's story: barn 1 released, barn 3 held for its heat wave, nothing 'never reported'", async () => {
    // A busy loop on a core beside the demo (at the demo's own priority), as on a loaded laptop.
    hogs.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
    const child = spawn(
      process.execPath,
      [BIN, "demo", "--duration", "35s", "--http-port", "0", "--mqtt-port", "0"],
      { env: { ...process.env, BARNLINK_LOG: "error" } },
    );
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    for (const h of hogs) h.kill("SIGKILL");
    expect(code, stdout.slice(-3000)).toBe(0);
    expect(stdout).toMatch(/3\/3 simulated barns running/);
    expect(stdout.match(/gateway page barn-\d/g)).toHaveLength(3);
    const decisions = stdout.split("\n").filter((l) => /^\s+batch-barn-\d #\d+:/.test(l));
    expect(decisions.join("\n")).toMatch(/batch-barn-1 #0: release/);
    expect(decisions.join("\n")).toMatch(/batch-barn-3 #\d+: hold .*gate \(c\) environment/);
    // Readings were there all along: a slow start must not look like a silent barn.
    expect(decisions.join("\n")).not.toMatch(/never reported|no temperature readings/);
  }, 300_000);
});
