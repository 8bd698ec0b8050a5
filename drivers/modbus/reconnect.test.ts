import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { requireTool } from "../../test/helpers/tools.ts";
import { openPtyPair } from "../common/pty-pair.ts";
import { startSlaveProcess } from "../modbus-sim/slave-process.ts";
import { modbusSourceSchema } from "./config.ts";
import { ModbusSource } from "./source.ts";

const ok = requireTool("socat", "python3-pymodbus");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const device = { name: "th", unit: 1, interval: 150, preset: "th-transmitter" };

describe.runIf(ok)("modbus links that drop and come back", () => {
  it("a pty that disappears: link-down, offline alarm, reconnect with backoff, resume", async () => {
    const dir = join(tmpdir(), `bl-reconn-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const a = join(dir, "master");
    const b = join(dir, "slave");
    let pty = await openPtyPair(a, b);
    let slave = await startSlaveProcess({ serial: b, units: [1] });
    await slave.set(1, "ir", 1, [215, 640]);
    const ctx = new RecordingContext();
    const cfg = {
      driver: "modbus",
      name: "bus",
      port: a,
      timeout: 200,
      offlineAfter: 2,
      reconnectMin: 100,
      reconnectMax: 400,
    };
    const src = new ModbusSource(modbusSourceSchema.parse({ ...cfg, devices: [device] }));
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.latest("env.temperature") !== undefined, "first reading");
      expect(ctx.value("env.humidity")).toBe(64);
      await slave.stop();
      await pty.stop(); // the adapter is unplugged: both pty ends vanish
      await ctx.until(
        () => ctx.alarms.some((x) => x.active && x.code === "modbus.device_offline"),
        "offline alarm",
      );
      await ctx.until(() => ctx.total("modbus_link_changes_total", { state: "down" }) >= 1, "link down");
      pty = await openPtyPair(a, b); // plugged back in
      slave = await startSlaveProcess({ serial: b, units: [1] });
      await slave.set(1, "ir", 1, [199, 700]);
      await ctx.until(() => ctx.value("env.humidity") === 70, "readings resume");
      await ctx.until(() => ctx.alarms.some((x) => !x.active), "alarm cleared");
      expect(ctx.total("modbus_link_changes_total", { state: "up" })).toBeGreaterThanOrEqual(2);
    } finally {
      await src.stop();
      await slave.stop();
      await pty.stop();
    }
  });

  it("Modbus TCP: reads a pymodbus TCP server, survives its restart", async () => {
    const port = await freePort();
    let slave = await startSlaveProcess({ tcp: port, units: [1, 3] });
    await slave.set(1, "ir", 1, [0xffec, 550]); // −2.0 °C, 55 %RH
    await slave.set(3, "hr", 0, [0x45fa, 0x0000, 0]); // 8000 kg
    const ctx = new RecordingContext();
    const src = new ModbusSource(
      modbusSourceSchema.parse({
        driver: "modbus",
        name: "tcp",
        transport: "tcp",
        host: "127.0.0.1",
        tcpPort: port,
        timeout: 300,
        reconnectMin: 100,
        reconnectMax: 400,
        devices: [device, { name: "silo", unit: 3, interval: 150, preset: "loadcell-transmitter" }],
      }),
    );
    await src.start(ctx);
    try {
      await ctx.until(
        () => ctx.latest("silo.weight") !== undefined && ctx.latest("env.humidity") !== undefined,
        "readings",
      );
      expect(ctx.value("env.temperature")).toBe(-2);
      expect(ctx.value("silo.weight")).toBe(8000);
      await slave.stop();
      slave = await startSlaveProcess({ tcp: port, units: [1, 3] });
      await slave.set(3, "hr", 0, [0x4500, 0x0000, 0]); // 2048 kg
      await ctx.until(() => ctx.value("silo.weight") === 2048, "reading after restart");
    } finally {
      await src.stop();
      await slave.stop();
    }
  });
});
