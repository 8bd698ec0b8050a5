import pino, { type Logger } from "pino";

export type { Logger };

/** JSON logs on stderr (journald keeps them on a Pi); level from BARNLINK_LOG or the given default. */
export function createLogger(name: string, level = process.env.BARNLINK_LOG ?? "info"): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: "silent" });
