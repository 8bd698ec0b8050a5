import ModbusRTU from "modbus-serial";
import { ERR_MODBUS_CRC, ERR_MODBUS_EXCEPTION, ERR_MODBUS_LINK, ERR_MODBUS_TIMEOUT } from "../errors.ts";
import { type ModbusConfig, TABLES, type Table } from "./config.ts";
import { fastSerialBinding } from "./serial-binding.ts";

/**
 * The subset of a Modbus master the bus needs (after Kysely's "the subset of the library we use").
 * modbus-serial implements it below; tests may supply another.
 */
export interface ModbusLink {
  open(): Promise<void>;
  /** Reads `count` registers (or bits, as 0/1) from one unit; rejects with a coded BL_MODBUS_* error. */
  read(unit: number, table: Table, address: number, count: number): Promise<number[]>;
  close(): Promise<void>;
  /** Called once if the port or socket goes away underneath us (unplugged adapter, dropped TCP). */
  onClose(listener: (reason: string) => void): void;
}

type Cb<T> = (err: Error | null, res: T) => void;
interface Client {
  setTimeout(ms: number): void;
  connectRTUBuffered(path: string, o: object): Promise<void>;
  connectTCP(host: string, o: object): Promise<void>;
  on(ev: "close" | "error", l: (e?: Error) => void): void;
  destroy(cb?: () => void): void;
  close(cb?: () => void): void;
  isOpen: boolean;
  writeFC1(u: number, a: number, n: number, cb: Cb<{ data: boolean[] }>): void;
  writeFC2(u: number, a: number, n: number, cb: Cb<{ data: boolean[] }>): void;
  writeFC3(u: number, a: number, n: number, cb: Cb<{ data: number[] }>): void;
  writeFC4(u: number, a: number, n: number, cb: Cb<{ data: number[] }>): void;
}

/** Maps modbus-serial's plain Errors to our codes; it marks them only by message and fields. */
export function classify(e: unknown, unit: number): Error {
  const err = e as Error & { errno?: string; modbusCode?: number };
  const where = `unit ${unit}`;
  if (err.errno === "ETIMEDOUT" || err.message === "Timed out")
    return ERR_MODBUS_TIMEOUT(`${where}: no answer (timeout)`);
  if (/CRC/i.test(err.message)) return ERR_MODBUS_CRC(`${where}: response failed its CRC check`);
  if (typeof err.modbusCode === "number")
    return ERR_MODBUS_EXCEPTION(`${where}: ${err.message}`, { exception: err.modbusCode });
  if (/Port Not Open|not open|closed/i.test(err.message))
    return ERR_MODBUS_LINK(`${where}: link is down (${err.message})`);
  // Length errors and other garbage on the line are noise, like a CRC failure.
  return ERR_MODBUS_CRC(`${where}: bad response (${err.message})`);
}

/**
 * A fresh modbus-serial instance per open: reopening an old one fails with "Cannot lock port"
 * (NOTES.md), so after an unplug the bus throws the link away and asks for a new one.
 */
export function modbusSerialLink(cfg: ModbusConfig): ModbusLink {
  const client = new (ModbusRTU as unknown as new () => Client)();
  let closed = false;
  const listeners: Array<(r: string) => void> = [];
  const fire = (reason: string) => {
    if (closed) return;
    closed = true;
    for (const l of listeners) l(reason);
  };
  return {
    async open() {
      client.setTimeout(cfg.timeout);
      try {
        if (cfg.transport === "tcp")
          await client.connectTCP(cfg.host ?? "127.0.0.1", { port: cfg.tcpPort, timeout: cfg.timeout });
        else {
          const o = {
            baudRate: cfg.baudRate,
            parity: cfg.parity,
            dataBits: cfg.dataBits,
            stopBits: cfg.stopBits,
            // Reads and writes without libuv's thread pool (serial-binding.ts, issue #15).
            binding: fastSerialBinding(),
          };
          await client.connectRTUBuffered(cfg.port ?? "", o);
        }
      } catch (e) {
        await closeClient(client);
        throw ERR_MODBUS_LINK(`cannot open ${target(cfg)}: ${(e as Error).message}`);
      }
      client.on("close", () => fire("closed"));
      client.on("error", (e) => fire(e?.message ?? "error"));
    },
    read(unit, table, address, count) {
      return new Promise((resolve, reject) => {
        if (closed || !client.isOpen) return reject(ERR_MODBUS_LINK(`unit ${unit}: link is down`));
        const fc = `writeFC${TABLES[table]}` as "writeFC1" | "writeFC3";
        (client[fc] as (u: number, a: number, n: number, cb: Cb<{ data: Array<number | boolean> }>) => void)(
          unit,
          address,
          count,
          (err, res) => {
            if (err) return reject(classify(err, unit));
            resolve(res.data.slice(0, count).map(Number));
          },
        );
      });
    },
    async close() {
      closed = true;
      await closeClient(client);
    },
    onClose(l) {
      listeners.push(l);
    },
  };
}

/**
 * close(), not destroy(): the RTU port has no destroy, so destroy() would keep the tty locked. A TCP
 * port that never connected never calls back from close(), hence the time limit.
 */
function closeClient(client: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 1000);
    try {
      client.close(() => {
        clearTimeout(t);
        resolve();
      });
    } catch {
      resolve();
    }
  });
}

export function target(cfg: ModbusConfig): string {
  return cfg.transport === "tcp" ? `tcp://${cfg.host}:${cfg.tcpPort}` : (cfg.port ?? "(no port)");
}
