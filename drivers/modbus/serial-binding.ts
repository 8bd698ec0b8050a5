import { readSync, writeSync } from "node:fs";
import { SerialPort } from "serialport";

/**
 * serialport's Linux/macOS binding with cheaper reads and writes (issue #15). The stock binding
 * reads with an async `fs.read` on libuv's thread pool: the port is non-blocking, so a read that
 * starts before the answer is there (the usual case: the stream asks for more as soon as a chunk
 * is pushed) comes back EAGAIN through the pool, builds an Error, then waits on the poller and goes
 * through the pool again. Here a read waits on the poller first and then reads at once on the
 * main thread (the fd is O_NONBLOCK: the read never blocks), and a write is tried at once, waiting
 * on the poller only on EAGAIN. Same bytes, same errors: EBADF/ENXIO mark a disconnect as the stock
 * binding does, a closed port cancels the pending read.
 */

type Events = "readable" | "writable";
interface Poller {
  once(event: Events, cb: (err: Error | null) => void): unknown;
}
/** The part of bindings-cpp's LinuxPortBinding / DarwinPortBinding used here. */
export interface UnixPort {
  fd: number | null;
  readonly isOpen: boolean;
  poller?: Poller;
  writeOperation?: Promise<void> | null;
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
  write(buffer: Buffer): Promise<void>;
}
export interface Binding {
  open(options: object): Promise<unknown>;
  list(): Promise<unknown>;
}

const RETRY = new Set(["EAGAIN", "EWOULDBLOCK", "EINTR"]);

const canceled = (message: string) => Object.assign(new Error(message), { canceled: true });

/** As bindings-cpp's unix-read/unix-write: these codes mean the device went away. */
function markDisconnect(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException & { disconnect?: boolean };
  if (err.code === "EBADF" || err.code === "ENXIO" || err.code === "UNKNOWN" || err.errno === -1)
    err.disconnect = true;
  return e;
}

const wait = (port: UnixPort, event: Events) =>
  new Promise<void>((resolve, reject) => {
    port.poller!.once(event, (err) => (err ? reject(err) : resolve()));
  });

export async function readWhenReady(
  port: UnixPort,
  buffer: Buffer,
  offset: number,
  length: number,
  read: typeof readSync = readSync,
): Promise<{ bytesRead: number; buffer: Buffer }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled("Port is not open");
    await wait(port, "readable");
    if (!port.isOpen || port.fd === null) throw canceled("Port is not open");
    try {
      const bytesRead = read(port.fd, buffer, offset, length, null);
      // Zero bytes: nothing to take (the stock binding reads again; here after the next wake-up).
      if (bytesRead > 0) return { bytesRead, buffer };
    } catch (e) {
      if (!RETRY.has((e as NodeJS.ErrnoException).code ?? "")) throw markDisconnect(e);
    }
  }
}

export async function writeWhenReady(
  port: UnixPort,
  buffer: Buffer,
  write: typeof writeSync = writeSync,
): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    if (!port.isOpen || port.fd === null) throw new Error("Port is not open");
    try {
      offset += write(port.fd, buffer, offset, buffer.length - offset);
    } catch (e) {
      if (!RETRY.has((e as NodeJS.ErrnoException).code ?? "")) throw markDisconnect(e);
      await wait(port, "writable");
    }
  }
}

/** Replaces an open port's read and write; a port without a poller or fd (Windows) is left as it is. */
export function fastenPort<P>(port: P): P {
  const p = port as unknown as UnixPort;
  if (!p.poller || typeof p.fd !== "number") return port;
  p.read = async (buffer, offset, length) => {
    if (buffer.length < offset + length) throw new Error("buffer is too small");
    return readWhenReady(p, buffer, offset, length);
  };
  p.write = (buffer) => {
    if (!p.isOpen) return Promise.reject(new Error("Port is not open"));
    // drain() awaits writeOperation, as with the stock binding.
    const op: Promise<void> = writeWhenReady(p, buffer).finally(() => {
      if (p.writeOperation === op) p.writeOperation = null;
    });
    p.writeOperation = op;
    return op;
  };
  return port;
}

/** The platform's serialport binding with `fastenPort` applied to every port it opens. */
export function fastSerialBinding(base: Binding = SerialPort.binding as unknown as Binding): Binding {
  return {
    list: () => base.list(),
    open: async (options) => fastenPort(await base.open(options)),
  };
}
