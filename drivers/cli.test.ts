import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireTool } from "../test/helpers/tools.ts";
import { driversList, driversProbe } from "./cli.ts";
import { startModbusBarnSimulator } from "./modbus-sim/simulator.ts";
import { drivers } from "./registry.ts";

describe("barnlink drivers list / probe", () => {
  it("lists every driver on one line with its description", () => {
    const lines = driversList().split("\n");
    expect(lines).toHaveLength(drivers.length);
    for (const d of drivers)
      expect(lines.some((l) => l.startsWith(d.name) && l.includes(d.description))).toBe(true);
  });

  it("reports config problems by path without hiding the valid sources", async () => {
    const r = await driversProbe([
      { driver: "modbuz", name: "x" },
      {
        driver: "gpio",
        name: "g",
        backend: "sim",
        inputs: [{ name: "door", line: 17, states: ["closed", "open"] }],
      },
    ]);
    expect(r.ok).toBe(false);
    expect(r.text).toContain('sources[0].driver: unknown driver "modbuz"');
    expect(r.text).toContain("ok   g/door (BCM 17)  door=closed");
  });

  it.runIf(requireTool("socat", "python3-pymodbus"))(
    "finds a wiring fault: the live units read, the silent one names the next step",
    async () => {
      const sim = await startModbusBarnSimulator({
        ptyPath: join(mkdtempSync(join(tmpdir(), "bl-probe-")), "tty"),
      });
      try {
        await sim.slave.silent(2, true); // the ammonia sensor's A/B pair is swapped
        const r = await driversProbe([{ ...sim.sourceConfig("barn"), timeout: 200, retries: 0 }]);
        expect(r.ok).toBe(false);
        expect(r.text).toMatch(
          /ok {3}barn\/climate \(unit 1 @ \S+\) {2}env.temperature=[\d.]+ °C {2}env.humidity=[\d.]+ %RH/,
        );
        expect(r.text).toMatch(
          /FAIL barn\/ammonia \(unit 2 @ \S+\): .*no answer \(timeout\) — check A\/B wiring/,
        );
        expect(r.text).toMatch(/ok {3}barn\/silo .*silo.weight=[\d.]+ kg/);
      } finally {
        await sim.stop();
      }
    },
  );
});
