import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { requireTool } from "../../test/helpers/tools.ts";
import { modbusSourceSchema } from "../modbus/config.ts";
import { ModbusSource } from "../modbus/source.ts";
import { startModbusBarnSimulator } from "./simulator.ts";

describe.runIf(requireTool("socat", "python3-pymodbus"))("the Modbus barn simulator", () => {
  it("serves the preset register maps over a pty; the driver reads the model's values", async () => {
    const wall = Date.UTC(2026, 5, 1, 14, 0, 0);
    const values = () => ({ temperature: 24.37, humidity: 61.2, ammonia: 9.8, siloKg: 7321.5 });
    const ptyPath = join(mkdtempSync(join(tmpdir(), "bl-sim-")), "ttyBarn");
    const sim = await startModbusBarnSimulator({ ptyPath, values, now: () => wall });
    const ctx = new RecordingContext();
    const src = new ModbusSource(
      modbusSourceSchema.parse({ ...sim.sourceConfig("barn", "200ms"), timeout: 300 }),
    );
    await src.start(ctx);
    try {
      await ctx.until(
        () => ["env.temperature", "env.humidity", "air.nh3", "silo.weight"].every((s) => ctx.latest(s)),
        "all sensors",
      );
      expect(ctx.value("env.temperature")).toBe(24.4); // int16 × 0.1: the transmitter's resolution
      expect(ctx.value("env.humidity")).toBe(61.2);
      expect(ctx.value("air.nh3")).toBe(9.8);
      expect(ctx.value("silo.weight")).toBe(7321.5);
      expect(sim.path).toBe(ptyPath);
    } finally {
      await src.stop();
      await sim.stop();
    }
  });

  it("serves Modbus TCP too, with values from the barn model", async () => {
    const port = 20000 + (process.pid % 20000);
    const sim = await startModbusBarnSimulator({ port });
    const ctx = new RecordingContext();
    const src = new ModbusSource(
      modbusSourceSchema.parse({ ...sim.sourceConfig("barn", "200ms"), timeout: 300 }),
    );
    await src.start(ctx);
    try {
      await ctx.until(
        () => ctx.latest("silo.weight") !== undefined && ctx.latest("env.temperature") !== undefined,
        "readings",
      );
      expect(ctx.value("env.temperature")).toBeGreaterThan(10);
      expect(ctx.value("env.temperature")).toBeLessThan(35);
      expect(ctx.value("silo.weight")).toBeGreaterThan(0);
    } finally {
      await src.stop();
      await sim.stop();
    }
  });
});
