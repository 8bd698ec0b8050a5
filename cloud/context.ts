import type { KeyPair } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { Db } from "./db/connect.ts";

/**
 * What cloud modules (ingest, lending, models, dashboard) get from the service: the database, a
 * logger, the cloud's signing key, and a way to send a signed command to a device.
 */
export interface CloudContext {
  db: Db;
  log: Logger;
  key: KeyPair;
  /**
   * Sends a signed command to a device over MQTT (`barnlink/v1/{device}/cmd`); resolves once
   * published, with the command's id where it is stored (the service's command queue).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: test contexts send without keeping an id
  sendCommand(device: string, name: string, args: Record<string, unknown>): Promise<string | void>;
  /** Milliseconds since the epoch; scenario replays substitute simulated time. */
  now(): number;
}

/** Validated request parts: parse with a zod schema and throw BL_VALIDATION naming the field. */
export { parseRequest } from "./api/validate.ts";
