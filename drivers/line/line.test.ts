import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { requireTool } from "../../test/helpers/tools.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { openPtyPair } from "../common/pty-pair.ts";
import { lineConfigSchema } from "./config.ts";
import { parseLine } from "./parse.ts";
import { LineSource } from "./source.ts";

describe("parseLine", () => {
  it("reads JSON and key=value lines, ignores units, rejects garbage", () => {
    expect(parseLine('{"t":21.5,"h":60,"door":true,"id":"x"}', "auto")).toEqual({ t: 21.5, h: 60, door: 1 });
    expect(parseLine("t=21.5 h=60", "auto")).toEqual({ t: 21.5, h: 60 });
    expect(parseLine("W:1234.5kg; tare=-2", "auto")).toEqual({ W: 1234.5, tare: -2 });
    expect(parseLine("Arduino boot v1.2", "auto")).toBeUndefined();
    expect(parseLine("t=21.5 h=6\u00000", "auto")).toBeUndefined();
    expect(parseLine("{broken", "auto")).toBeUndefined();
    expect(parseLine("t=1", "json")).toBeUndefined();
  });
});

const ok = requireTool("socat");

/** A socat pty pair (a: the driver's port, b: the device's end) and a started line source on `a`. */
async function linePair(name: string, cfg: Record<string, unknown>) {
  const dir = join(tmpdir(), `bl-line-${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const a = join(dir, "dev");
  const b = join(dir, "arduino");
  const pty = await openPtyPair(a, b);
  const ctx = new RecordingContext();
  const src = new LineSource(lineConfigSchema.parse({ driver: "line", name, port: a, ...cfg }));
  await src.start(ctx);
  return { a, b, pty, ctx, src };
}

describe.runIf(ok)("line driver over a socat pty pair", () => {
  it("reads lines, counts garbage, survives an unplug with an offline alarm, resumes", async () => {
    const { a, b, ...t } = await linePair("scale", {
      staleAfter: 600,
      reconnectMin: 100,
      reconnectMax: 300,
      fields: [
        { key: "w", sensor: "silo.weight", unit: "kg", scale: 0.1 },
        { key: "t", sensor: "env.temperature", unit: "°C" },
      ],
    });
    let pty = t.pty;
    const { ctx, src } = t;
    const write = async (text: string) => {
      const fd = openSync(b, "w");
      writeSync(fd, text);
      closeSync(fd);
    };
    try {
      // The port opens in the background: write once it is open (a condition, not a guess of 300 ms).
      const isOpen = () => (src as unknown as { port?: { isOpen: boolean } }).port?.isOpen === true;
      await waitFor(isOpen, "the port open");
      await write('w=12345 t=20.5\n{"w": 100, "t": 21}\nboot banner\n');
      await ctx.until(() => ctx.readings.length >= 4, "four readings");
      expect(ctx.readings.map((r) => (r.body as { value: number }).value)).toEqual([1234.5, 20.5, 10, 21]);
      await ctx.until(
        () => ctx.total("line_errors_total", { kind: "parse" }) === 1,
        "the garbled line counted",
      );
      await pty.stop(); // unplugged
      await ctx.until(() => ctx.alarms.some((x) => x.active && x.code === "line.offline"), "offline alarm");
      pty = await openPtyPair(a, b);
      await ctx.until(() => ctx.total("line_reconnects_total") >= 1, "reconnect attempt");
      const n = ctx.readings.length;
      // Written again and again until the driver has reopened the port and read one.
      await waitFor(
        async () => {
          await write("t=19\n");
          return ctx.readings.length > n;
        },
        "a line read after the replug",
        { intervalMs: 100 },
      );
      await ctx.until(() => ctx.readings.length > n, "reading after replug");
      await ctx.until(() => ctx.alarms.some((x) => !x.active), "alarm cleared");
    } finally {
      await src.stop();
      await pty.stop();
    }
  });

  it("reopens a port that stays silent (a vanished device does not always say so), then reads again", async () => {
    const { b, pty, ctx, src } = await linePair("quiet", {
      staleAfter: 400,
      reconnectMin: 50,
      reconnectMax: 100,
      fields: [{ key: "t", sensor: "env.temperature", unit: "°C" }],
    });
    try {
      // Nothing is written: the port is open but silent, so it is given up and opened again.
      await ctx.until(() => ctx.total("line_reconnects_total") >= 2, "reopened while silent");
      expect(ctx.alarms.some((x) => x.active && x.code === "line.offline")).toBe(true);
      const fd = openSync(b, "w");
      await waitFor(
        () => {
          writeSync(fd, "t=18.5\n");
          return ctx.readings.length > 0;
        },
        "a line read after the reopen",
        { intervalMs: 50 },
      );
      closeSync(fd);
      await ctx.until(() => ctx.readings.length > 0, "a reading after the reopen");
      expect((ctx.readings[0]!.body as { value: number }).value).toBe(18.5);
    } finally {
      await src.stop();
      await pty.stop();
    }
  });
});
