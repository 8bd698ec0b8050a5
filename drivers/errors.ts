import { defineError } from "../core/errors.ts";

/**
 * Error codes of the drivers. Field faults (a timeout, a bad CRC) are counted and never fatal; they
 * are still coded so callers decide by `code`, not by parsing messages (node-serialport's lesson).
 */
export const ERR_DRIVER_UNKNOWN = defineError(
  "BL_DRIVER_UNKNOWN",
  400,
  "A source names a driver that does not exist (see `barnlink drivers list`).",
);
export const ERR_DRIVER_UNAVAILABLE = defineError(
  "BL_DRIVER_UNAVAILABLE",
  503,
  "A driver's backend is missing on this machine (sysfs GPIO, ffmpeg, python3-pymodbus, socat).",
);
export const ERR_DRIVER_NEEDS_JIT = defineError(
  "BL_DRIVER_NEEDS_JIT",
  503,
  "A camera, faces or patrol source was configured in a node started without WebAssembly (`--lite-mode`, `--jitless`): restart the service, whose unit picks its node flags from the config (`barnlink agent node-flags`), or set `runtime.liteMode: off`.",
);
export const ERR_MODBUS_TIMEOUT = defineError(
  "BL_MODBUS_TIMEOUT",
  504,
  "A Modbus device did not answer within the request timeout.",
);
export const ERR_MODBUS_CRC = defineError(
  "BL_MODBUS_CRC",
  502,
  "A Modbus RTU response failed its CRC check (noise, wiring, termination or baud rate).",
);
export const ERR_MODBUS_EXCEPTION = defineError(
  "BL_MODBUS_EXCEPTION",
  502,
  "A Modbus device answered with an exception response (e.g. 02 illegal data address).",
);
export const ERR_MODBUS_LINK = defineError(
  "BL_MODBUS_LINK",
  503,
  "The Modbus link (serial adapter or TCP connection) is down; the driver is reconnecting.",
);
export const ERR_CAMERA_FRAME = defineError(
  "BL_CAMERA_FRAME",
  502,
  "A camera gave no frame, a stalled response or an undecodable image.",
);
export const ERR_MODBUS_SHORT = defineError(
  "BL_MODBUS_SHORT",
  502,
  "A Modbus response carried fewer registers than the request asked for.",
);
export const ERR_DRIVER_PROBE_TIMEOUT = defineError(
  "BL_DRIVER_PROBE_TIMEOUT",
  504,
  "A source's probe (`barnlink drivers probe`) gave no answer within its timeout.",
);
