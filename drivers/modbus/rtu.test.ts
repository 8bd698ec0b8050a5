import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { requireTool } from "../../test/helpers/tools.ts";
import { openPtyPair, type PtyPair } from "../common/pty-pair.ts";
import { type SlaveProcess, startSlaveProcess } from "../modbus-sim/slave-process.ts";
import { modbusSourceSchema } from "./config.ts";
import { ModbusSource } from "./source.ts";

const ok = requireTool("socat", "python3-pymodbus");
const dir = join(tmpdir(), `bl-rtu-${process.pid}`);

/** Words as a device would hold them: 1234.5 = 0x449A5000, −123456 = 0xFFFE1DC0, 3e9 = 0xB2D05E00. */
const HR: Array<[number, number[]]> = [
  [0, [0xff85]], // int16 −123
  [1, [0xff85]], // uint16 65413
  [2, [0xfffe, 0x1dc0]], // int32 big word order
  [4, [0x1dc0, 0xfffe]], // int32 little word order
  [6, [0xb2d0, 0x5e00]], // uint32
  [8, [0x449a, 0x5000]], // float32 ABCD
  [10, [0x5000, 0x449a]], // float32 CDAB (word swap)
  [12, [0x9a44, 0x0050]], // float32 BADC (byte swap)
  [14, [0x0050, 0x9a44]], // float32 DCBA
  [16, [0b100]], // bit 2 set
];

const registers = [
  { sensor: "t.int16", table: "holding", address: 0, type: "int16" },
  { sensor: "t.uint16", table: "holding", address: 1, type: "uint16" },
  { sensor: "t.int32", table: "holding", address: 2, type: "int32" },
  { sensor: "t.int32le", table: "holding", address: 4, type: "int32", wordOrder: "little" },
  { sensor: "t.uint32", table: "holding", address: 6, type: "uint32" },
  { sensor: "t.abcd", table: "holding", address: 8, type: "float32" },
  { sensor: "t.cdab", table: "holding", address: 10, type: "float32", wordOrder: "little" },
  { sensor: "t.badc", table: "holding", address: 12, type: "float32", byteOrder: "little" },
  {
    sensor: "t.dcba",
    table: "holding",
    address: 14,
    type: "float32",
    wordOrder: "little",
    byteOrder: "little",
  },
  { sensor: "t.bit2", table: "holding", address: 16, type: "bool", bit: 2 },
  { sensor: "t.scaled", table: "input", address: 1, type: "int16", scale: 0.1, offset: -1, unit: "°C" },
  { sensor: "t.coil", table: "coil", address: 3, type: "bool" },
  { sensor: "t.di", table: "discrete", address: 5, type: "bool" },
];

describe.runIf(ok)("modbus RTU against a pymodbus slave over a socat pty pair", () => {
  let pty: PtyPair;
  let slave: SlaveProcess;
  beforeAll(async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    pty = await openPtyPair(join(dir, "master"), join(dir, "slave"));
    slave = await startSlaveProcess({ serial: pty.b, units: [1, 2] });
    for (const [addr, words] of HR) await slave.set(1, "hr", addr, words);
    await slave.set(1, "ir", 1, [231]);
    await slave.set(1, "co", 3, [true]);
    await slave.set(1, "di", 5, [true]);
    await slave.set(2, "hr", 0, [42]);
  });
  afterAll(async () => {
    await slave?.stop();
    await pty?.stop();
  });

  const config = (extra: object = {}) =>
    modbusSourceSchema.parse({
      driver: "modbus",
      name: "bus1",
      port: pty.a,
      timeout: 300,
      offlineAfter: 2,
      devices: [
        { name: "all-types", unit: 1, interval: 200, registers },
        {
          name: "other",
          unit: 2,
          interval: 200,
          registers: [{ sensor: "o.value", table: "holding", address: 0 }],
        },
      ],
      ...extra,
    });

  it("decodes every data type, word order and byte order", async () => {
    const ctx = new RecordingContext();
    const src = new ModbusSource(config());
    await src.start(ctx);
    try {
      await ctx.until(() => registers.every((r) => ctx.latest(r.sensor)), "a reading of every register");
      const v = (s: string) => ctx.value(s);
      expect(v("t.int16")).toBe(-123);
      expect(v("t.uint16")).toBe(65413);
      expect(v("t.int32")).toBe(-123456);
      expect(v("t.int32le")).toBe(-123456);
      expect(v("t.uint32")).toBe(3_000_000_000);
      for (const s of ["t.abcd", "t.cdab", "t.badc", "t.dcba"]) expect(v(s), s).toBe(1234.5);
      expect(v("t.bit2")).toBe(1);
      expect(v("t.scaled")).toBe(22.1);
      expect(ctx.latest("t.scaled")?.body).toMatchObject({ unit: "°C" });
      expect(v("t.coil")).toBe(1);
      expect(v("t.di")).toBe(0 + 1);
      expect(v("o.value")).toBe(42);
    } finally {
      await src.stop();
    }
  });

  it("counts CRC errors per device, retries, and keeps reading", async () => {
    const ctx = new RecordingContext();
    const src = new ModbusSource(config({ retries: 2 }));
    await slave.corrupt(3);
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.total("modbus_errors_total", { kind: "crc" }) >= 3, "three CRC errors");
      const before = ctx.readings.length;
      await ctx.until(() => ctx.readings.length > before + 20, "readings after the corrupt responses");
      expect(ctx.total("modbus_retries_total")).toBeGreaterThanOrEqual(1);
      expect(ctx.alarms.filter((a) => a.active).map((a) => a.message)).toEqual([]);
    } finally {
      await src.stop();
    }
  });

  it("counts an exception response and still reads the device's other registers", async () => {
    const ctx = new RecordingContext();
    const bad = [...registers.slice(0, 2), { sensor: "t.missing", table: "holding", address: 500 }];
    const src = new ModbusSource(
      config({ devices: [{ name: "all-types", unit: 1, interval: 200, registers: bad }] }),
    );
    await src.start(ctx);
    try {
      await ctx.until(
        () => ctx.total("modbus_errors_total", { kind: "exception", device: "all-types" }) >= 2,
        "exceptions",
      );
      expect(ctx.latest("t.int16")).toBeDefined();
      expect(ctx.latest("t.missing")).toBeUndefined();
      expect(ctx.alarms).toEqual([]); // an exception is an answer: the device is online
    } finally {
      await src.stop();
    }
  });

  it("a silent unit raises device-offline without stalling the other unit, and clears when back", async () => {
    const ctx = new RecordingContext();
    const src = new ModbusSource(config());
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.latest("o.value") !== undefined, "first reading of unit 2");
      await slave.silent(1, true);
      await ctx.until(
        () => ctx.alarms.some((a) => a.active && a.subject === "bus1/all-types"),
        "offline alarm",
      );
      const n = ctx.values("o.value").length;
      await ctx.until(() => ctx.values("o.value").length >= n + 5, "unit 2 keeps reading");
      expect(
        ctx.total("modbus_errors_total", { kind: "timeout", device: "all-types" }),
      ).toBeGreaterThanOrEqual(2);
      expect(ctx.total("modbus_errors_total", { device: "other" })).toBe(0);
      await slave.silent(1, false);
      await ctx.until(
        () => ctx.alarms.some((a) => !a.active && a.subject === "bus1/all-types"),
        "alarm cleared",
      );
    } finally {
      await slave.silent(1, false);
      await src.stop();
    }
  });
});
