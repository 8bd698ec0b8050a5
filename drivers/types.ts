import type { z } from "zod";
import type { CaptureTime, Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import type { CameraHub } from "./camera-types.ts";
import type { GpioBinding } from "./gpio/binding.ts";

/**
 * The whole contract between a driver and the agent (after Telegraf's Input and node-serialport's
 * BindingInterface): a driver turns its config into a Source; a Source, once started, emits
 * readings until stopped. Hardware sits behind the driver's own small binding so a simulator can
 * take its place.
 */
export interface Reading {
  /** Stream name within the device, e.g. "env.temperature" or "door.main". */
  stream: string;
  /** Record kind, one of sync/kinds.ts (reading, event, alarm, census, media, …). */
  kind: string;
  body: unknown;
  /** Capture time; the agent stamps it when absent. */
  t?: CaptureTime;
}

export interface AlarmInput {
  /** Stable alarm code, e.g. "modbus.device_offline". */
  code: string;
  severity: "info" | "warning" | "critical";
  /** What it is about (a device, a sensor, a camera). */
  subject: string;
  active: boolean;
  message: string;
  detail?: Record<string, unknown>;
}

export interface SourceContext {
  clock: Clock;
  log: Logger;
  /** Appends readings durably (one transaction); returns once they are stored. */
  emit(readings: Reading[]): void;
  /** Raises or clears an alarm; the agent de-duplicates repeated raises of the same code+subject. */
  alarm(alarm: AlarmInput): void;
  /** Counts a driver-level event for metrics (errors, retries, reconnects). */
  count(metric: string, labels: Record<string, string>, by?: number): void;
  signal: AbortSignal;
}

export interface ProbeResult {
  subject: string;
  ok: boolean;
  /** Values read, by name, or the precise error. */
  values?: Record<string, unknown>;
  error?: string;
}

export interface Source {
  readonly name: string;
  start(ctx: SourceContext): Promise<void>;
  stop(): Promise<void>;
  /** Reads every configured point once (for `barnlink drivers probe`). Optional. */
  probe?(ctx: Pick<SourceContext, "clock" | "log">): Promise<ProbeResult[]>;
  /**
   * Handles a verified command from the cloud (e.g. `census.interval` {every: "6h"} when a lender
   * demands more evidence). Returns true if it acted on it. Optional.
   */
  command?(name: string, args: Record<string, unknown>): boolean | Promise<boolean>;
}

export interface DriverDef<S extends z.ZodType = z.ZodType> {
  /** The value of `driver:` in a source's config. */
  name: string;
  description: string;
  /** A z.object whose `driver` key is z.literal(name); unknown keys rejected (z.strictObject). */
  configSchema: S;
  /**
   * Image or model work (sharp, perceptual hashes, tensorflow.js's WebAssembly backend): a source
   * of this driver needs V8's compilers and WebAssembly, so a gateway running one does not start in
   * `--lite-mode` (agent/node-flags.ts); the agent refuses to start it where WebAssembly is absent.
   */
  needsJit?: boolean;
  create(config: z.output<S>, deps?: DriverDeps): Source;
}

/**
 * What the agent may hand a driver besides its config. Every field is optional: a driver that
 * needs one and finds it missing makes its own (camera sources without a hub just keep their
 * frames to themselves; GPIO without a binding picks one from its config).
 */
export interface DriverDeps {
  /** Camera sources register their FrameSource here so pipelines can find them by name. */
  cameras?: CameraHub;
  /** Replaces the GPIO backend named in config (tests and the demo pass a simulated one). */
  gpio?: GpioBinding;
}
