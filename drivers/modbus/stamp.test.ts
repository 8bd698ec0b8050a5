import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { modbusSourceSchema } from "./config.ts";
import type { ModbusLink } from "./link.ts";
import { ModbusSource } from "./source.ts";

// Stamp at read, store at once (issue #15 item 5), against a fake link (the timing of a real serial
// line is not what is tested): the bus's inter-frame silence is made 60 s long, so any wait on it
// before the record is stored would time these tests out.
function fakeLink(asked: number[]): () => ModbusLink {
  return () => ({
    open: async () => {},
    read: async (_unit, _table, address, count) => {
      asked.push(Date.now());
      return Array.from({ length: count }, (_, i) => 100 + address + i);
    },
    close: async () => {},
    onClose: () => {},
  });
}

const config = (records?: "block" | "reading") =>
  modbusSourceSchema.parse({
    driver: "modbus",
    name: "bus1",
    transport: "tcp",
    host: "127.0.0.1",
    gap: "60s",
    ...(records ? { records } : {}),
    devices: [
      {
        name: "th1",
        unit: 1,
        interval: "1h",
        registers: [
          { sensor: "env.temperature", table: "holding", address: 0, scale: 0.1, unit: "degC" },
          { sensor: "env.humidity", table: "holding", address: 1, unit: "%" },
          { sensor: "env.count", table: "holding", address: 2 },
        ],
      },
    ],
  });

describe("modbus: a block is stamped when asked for and stored at once", () => {
  it("one block record with every value, stamped at the request, before the bus's silence ends", async () => {
    const asked: number[] = [];
    const ctx = new RecordingContext();
    const src = new ModbusSource(config(), fakeLink(asked));
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.readings.length > 0, "the first block stored");
      expect(ctx.readings).toHaveLength(1);
      const r = ctx.readings[0]!;
      expect(r.kind).toBe("block");
      expect(r.stream).toBe("bus1.th1");
      expect(r.body).toEqual({
        values: { "env.temperature": 10, "env.humidity": 101, "env.count": 102 },
        units: { "env.temperature": "degC", "env.humidity": "%" },
      });
      // Stamped before the request reached the link (not after the answer, not after the gap).
      expect(r.t!.wall).toBeLessThanOrEqual(asked[0]!);
      expect(ctx.value("env.humidity")).toBe(101);
    } finally {
      ctx.abort();
      await src.stop();
    }
  });

  it("records: reading keeps one reading per sensor, on the sensor's stream", async () => {
    const ctx = new RecordingContext();
    const src = new ModbusSource(config("reading"), fakeLink([]));
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.readings.length >= 3, "three readings");
      expect(ctx.readings.map((r) => [r.kind, r.stream])).toEqual([
        ["reading", "env.temperature"],
        ["reading", "env.humidity"],
        ["reading", "env.count"],
      ]);
      expect(ctx.readings[0]!.body).toEqual({ value: 10, unit: "degC" });
    } finally {
      ctx.abort();
      await src.stop();
    }
  });

  it("a bus with 24 devices polls them all without a MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    const base = config();
    const devices = Array.from({ length: 24 }, (_, i) => ({
      ...base.devices[0]!,
      name: `d${i}`,
      unit: i + 1,
    }));
    const ctx = new RecordingContext();
    const src = new ModbusSource({ ...base, gap: 0, devices }, fakeLink([]));
    await src.start(ctx);
    try {
      await ctx.until(
        () => new Set(ctx.readings.map((r) => r.stream)).size === 24,
        "a block from every device",
      );
      // Warnings are emitted on the next tick: give them one.
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
    } finally {
      process.off("warning", onWarning);
      ctx.abort();
      await src.stop();
    }
  });
});
