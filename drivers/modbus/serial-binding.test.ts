import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastenPort, readWhenReady, type UnixPort, writeWhenReady } from "./serial-binding.ts";

const errno = (code: string) => Object.assign(new Error(code), { code });

/** A port whose poller wakes on the next turn; `fail` makes the next wake-up an error (port closed). */
function fakePort() {
  const port = {
    fd: 7 as number | null,
    get isOpen() {
      return this.fd !== null;
    },
    wakes: 0,
    fail: undefined as Error | undefined,
    poller: {
      once(_ev: "readable" | "writable", cb: (err: Error | null) => void) {
        port.wakes++;
        setImmediate(() => cb(port.fail ?? null));
      },
    },
    writeOperation: null as Promise<void> | null,
    read: async () => ({ bytesRead: 0, buffer: Buffer.alloc(0) }),
    write: async () => {},
  };
  return port;
}

// One step of the device's side: a chunk that is there, nothing yet (EAGAIN), a spurious wake-up
// (0 bytes) or an interrupted call (EINTR).
const step = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => ({ chunk: Buffer.from(b) })),
  fc.constantFrom({ err: "EAGAIN" }, { err: "EINTR" }, { zero: true }),
);

describe("serial binding without the thread pool", () => {
  it("reads every byte the device sent, in order, whatever wake-ups and EAGAINs come between", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const port = fakePort();
        const script = [...steps, { chunk: Buffer.from([0xaa]) }];
        let at = 0;
        const sent = Buffer.concat(script.flatMap((s) => ("chunk" in s ? [s.chunk] : [])));
        const read = ((_fd: number, buf: Buffer, off: number, len: number) => {
          for (;;) {
            const s = script[at];
            if (!s) throw errno("EAGAIN");
            if ("err" in s) {
              at++;
              throw errno(s.err as string);
            }
            if ("zero" in s) {
              at++;
              return 0;
            }
            const n = Math.min(len, s.chunk.length);
            s.chunk.copy(buf, off, 0, n);
            if (n === s.chunk.length) at++;
            else script[at] = { chunk: s.chunk.subarray(n) };
            return n;
          }
        }) as never;
        const got: Buffer[] = [];
        let total = 0;
        while (total < sent.length) {
          const buf = Buffer.alloc(64);
          const { bytesRead } = await readWhenReady(port, buf, 3, 16, read);
          expect(bytesRead).toBeGreaterThan(0);
          got.push(buf.subarray(3, 3 + bytesRead));
          total += bytesRead;
        }
        expect(Buffer.concat(got).equals(sent)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("writes the whole buffer across short writes and EAGAIN, waiting on the poller only then", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constant(0)), { maxLength: 20 }),
        async (data, plan) => {
          const port = fakePort();
          const out: number[] = [];
          let i = 0;
          const write = ((_fd: number, buf: Buffer, off: number, len: number) => {
            const p = plan[i++];
            if (p === 0) throw errno("EAGAIN");
            const n = Math.min(len, p ?? len);
            out.push(...buf.subarray(off, off + n));
            return n;
          }) as never;
          await writeWhenReady(port, Buffer.from(data), write);
          expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
          expect(port.wakes).toBe(plan.slice(0, i).filter((p) => p === 0).length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a closed port cancels the read; a vanished device is a disconnect, as the stock binding says", async () => {
    const port = fakePort();
    port.fail = Object.assign(new Error("Canceled"), { canceled: true });
    await expect(readWhenReady(port, Buffer.alloc(8), 0, 8, (() => 1) as never)).rejects.toMatchObject({
      canceled: true,
    });
    port.fail = undefined;
    port.fd = null;
    await expect(readWhenReady(port, Buffer.alloc(8), 0, 8)).rejects.toMatchObject({ canceled: true });
    port.fd = 7;
    const gone = (() => {
      throw errno("ENXIO");
    }) as never;
    await expect(readWhenReady(port, Buffer.alloc(8), 0, 8, gone)).rejects.toMatchObject({
      disconnect: true,
    });
    await expect(writeWhenReady(port, Buffer.from([1]), gone)).rejects.toMatchObject({ disconnect: true });
    const io = (() => {
      throw errno("EIO");
    }) as never;
    await expect(readWhenReady(port, Buffer.alloc(8), 0, 8, io)).rejects.toMatchObject({ code: "EIO" });
  });

  it("leaves a port without a poller (Windows) as it is, and keeps writeOperation for drain()", async () => {
    const plain = { fd: 3, isOpen: true, read: () => 1, write: () => 2 };
    const before = { ...plain };
    fastenPort(plain);
    expect(plain.read).toBe(before.read);
    const port = fakePort();
    fastenPort(port as unknown as UnixPort);
    port.fd = null;
    await expect(port.write()).rejects.toThrow(/not open/);
    expect(port.writeOperation).toBeNull();
  });
});
