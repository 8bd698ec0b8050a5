import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfigText } from "../core/config.ts";
import { isCode } from "../core/errors.ts";
import { driverByName, requireDriver, sourceConfigSchema } from "./registry.ts";

const agent = () => z.strictObject({ sources: z.array(sourceConfigSchema()) });
const problems = (yaml: string): string => {
  try {
    parseConfigText(yaml, agent(), "agent.yaml");
  } catch (e) {
    expect(isCode(e, "BL_CONFIG_INVALID")).toBe(true);
    return (e as Error).message;
  }
  throw new Error("config was accepted");
};

describe("source configs", () => {
  it("an unknown driver names itself, the path and the drivers that exist", () => {
    const msg = problems("sources:\n  - driver: modbuz\n    name: x\n");
    expect(msg).toContain(
      'sources[0].driver: unknown driver "modbuz"; known drivers: sim-barn, modbus, line, gpio, camera, sim-camera',
    );
    expect(driverByName("nope")).toBeUndefined();
    expect(() => requireDriver("nope")).toThrow(/unknown driver "nope"/);
  });

  it("bad register maps give the path and what is wrong", () => {
    const msg = problems(`
sources:
  - driver: modbus
    name: bus1
    port: /dev/ttyUSB0
    devices:
      - name: th
        unit: 1
        registers:
          - { sensor: t, table: holding, address: 0, type: float64 }
          - { sensor: c, table: coil, address: 1, type: int16 }
          - { sensor: s, table: holdin, address: -1 }
      - name: th2
        unit: 1
        preset: no-such-preset
`);
    expect(msg).toContain("sources[0].devices[0].registers[0].type:");
    expect(msg).toContain("sources[0].devices[0].registers[1].type: a coil holds one bit: use type bool");
    expect(msg).toContain("sources[0].devices[0].registers[2].table:");
    expect(msg).toContain("sources[0].devices[0].registers[2].address:");
    expect(msg).toMatch(/sources\[0\]\.devices\[1\]\.preset: unknown preset \(one of: th-transmitter/);
  });

  it("cross-field checks: a TCP bus needs a host; repeated unit ids and sensors are caught", () => {
    const msg = problems(`
sources:
  - driver: modbus
    name: bus1
    transport: tcp
    devices:
      - { name: a, unit: 1, preset: th-transmitter }
      - { name: b, unit: 1, preset: th-transmitter }
`);
    expect(msg).toContain("sources[0].host: a TCP source needs host");
    expect(msg).toContain("sources[0].devices[1].unit: unit 1 is already used by devices[0]");
    expect(msg).toMatch(/sources\[0\]\.devices\[1\]: sensor env.temperature also comes from devices\[0\]/);
  });

  it("a valid mixed config parses with defaults applied", () => {
    const cfg = parseConfigText(
      `
sources:
  - { driver: modbus, name: b, port: /dev/ttyUSB0, devices: [{ name: t, unit: 1, preset: th-transmitter }] }
  - { driver: sim-camera, name: cam }
  - { driver: gpio, name: g, backend: sim, inputs: [{ name: door, line: 17 }] }
`,
      agent(),
    );
    expect(cfg.sources.map((s) => s.driver)).toEqual(["modbus", "sim-camera", "gpio"]);
    expect(cfg.sources[0]?.timeout).toBe(500);
  });
});
