import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.ts";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { sleep } from "../common/backoff.ts";
import { ERR_MODBUS_EXCEPTION, ERR_MODBUS_TIMEOUT } from "../errors.ts";
import { type FaultKind, ModbusBus } from "./bus.ts";
import { decodeWords, encodeWords } from "./codec.ts";
import { modbusSourceSchema, registerSchema, TYPES } from "./config.ts";
import type { ModbusLink } from "./link.ts";
import { ModbusSource } from "./source.ts";

/** A link whose units behave as told, recording how many requests were ever in flight at once. */
class FakeLinks {
  made = 0;
  failOpens = 0;
  inFlight = 0;
  maxInFlight = 0;
  behaviour = new Map<number, "ok" | "timeout" | "exception">();
  current: { close: (r: string) => void } | undefined;
  make = (): ModbusLink => {
    this.made++;
    const listeners: Array<(r: string) => void> = [];
    const link: ModbusLink = {
      open: async () => {
        if (this.failOpens-- > 0) throw new Error("ENOENT");
        this.current = {
          close: (r) => {
            for (const l of listeners) l(r);
          },
        };
      },
      read: async (unit) => {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        await sleep(2);
        this.inFlight--;
        const b = this.behaviour.get(unit) ?? "ok";
        if (b === "timeout") throw ERR_MODBUS_TIMEOUT(`unit ${unit}: no answer`);
        if (b === "exception") throw ERR_MODBUS_EXCEPTION(`unit ${unit}: exception 2`);
        return [unit];
      },
      close: async () => {},
      onClose: (l) => listeners.push(l),
    };
    return link;
  };
}

function bus(links: FakeLinks, faults: Array<[FaultKind, number]> = []) {
  return new ModbusBus(links.make, {
    gap: 1,
    retries: 2,
    reconnectMin: 5,
    reconnectMax: 20,
    log: silentLogger,
    onFault: (k, u) => faults.push([k, u]),
    onRetry: () => {},
    onLink: () => {},
  });
}

describe("ModbusBus", () => {
  it("never has two requests in flight; retries timeouts, never exceptions", async () => {
    const links = new FakeLinks();
    links.behaviour.set(2, "timeout").set(3, "exception");
    const faults: Array<[FaultKind, number]> = [];
    const b = bus(links, faults);
    b.start();
    await b.ready(1000);
    const results = await Promise.allSettled([1, 2, 3, 1, 1].map((u) => b.read(u, "holding", 0, 1)));
    expect(links.maxInFlight).toBe(1);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    expect(faults).toEqual([
      ["timeout", 2],
      ["timeout", 2],
      ["timeout", 2],
      ["exception", 3],
    ]);
    await b.stop();
  });

  it("a dropped link fails reads fast, then a new link is made with backoff", async () => {
    const links = new FakeLinks();
    links.failOpens = 2;
    const b = bus(links);
    b.start();
    await b.ready(2000);
    expect(links.made).toBe(3); // two failed opens, each a fresh instance
    links.current?.close("unplugged");
    await expect(b.read(1, "input", 0, 1)).rejects.toMatchObject({ code: "BL_MODBUS_LINK" });
    await b.ready(2000);
    expect(await b.read(1, "input", 0, 1)).toEqual([1]);
    expect(links.made).toBe(4);
    await b.stop();
  });

  it("every device silent on an open link: the source reopens the link (a hung adapter)", async () => {
    const links = new FakeLinks();
    links.behaviour.set(1, "timeout").set(2, "timeout");
    const cfg = modbusSourceSchema.parse({
      driver: "modbus",
      name: "b",
      port: "/dev/null",
      offlineAfter: 1,
      retries: 0,
      reconnectMin: 5,
      reconnectMax: 50,
      devices: [
        { name: "a", unit: 1, interval: 5, preset: "ammonia-sensor" },
        { name: "c", unit: 2, interval: 5, registers: [{ sensor: "x", table: "input", address: 0 }] },
      ],
    });
    const ctx = new RecordingContext();
    const src = new ModbusSource(cfg, links.make);
    await src.start(ctx);
    try {
      await ctx.until(() => ctx.total("modbus_link_recycles_total") >= 1 && links.made >= 2, "a recycle");
    } finally {
      await src.stop();
    }
  });
});

describe("codec", () => {
  it("decode(encode(x)) = x for every type, word order and byte order", () => {
    const orders = fc.constantFrom("big" as const, "little" as const);
    fc.assert(
      fc.property(
        fc.constantFrom(...TYPES.filter((t) => t !== "bool")),
        orders,
        orders,
        fc.integer(),
        (type, wo, bo, n) => {
          const spec = registerSchema.parse({
            sensor: "s",
            table: "holding",
            address: 0,
            type,
            wordOrder: wo,
            byteOrder: bo,
          });
          const range: Record<string, [number, number]> = {
            int16: [-32768, 32767],
            uint16: [0, 65535],
            int32: [-(2 ** 31), 2 ** 31 - 1],
            uint32: [0, 2 ** 32 - 1],
            float32: [-1e6, 1e6],
          };
          const [lo, hi] = range[type]!;
          const x = lo + (Math.abs(n) % (hi - lo + 1));
          const v = type === "float32" ? Math.fround(x / 8) : x;
          expect(decodeWords(encodeWords(v, spec), spec)).toBe(v);
        },
      ),
    );
  });
});
