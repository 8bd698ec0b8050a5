import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

/** When a record was captured. `mono` is CLOCK_MONOTONIC (ms since boot), valid only within `boot`. */
export interface CaptureTime {
  wall: number;
  boot: string;
  mono: number;
  synced: boolean;
}

export interface Clock {
  now(): CaptureTime;
  /** Monotonic milliseconds: use for durations and timeouts, never wall time. */
  mono(): number;
}

let cachedBootId: string | undefined;
/** The kernel's boot id; a random id per process where the kernel gives none. */
export function bootId(): string {
  if (cachedBootId) return cachedBootId;
  try {
    cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    cachedBootId = randomUUID();
  }
  return cachedBootId;
}

export function monoMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

export type SyncPolicy = "auto" | "always" | "never";

/**
 * Whether the wall clock can be trusted. A Pi 4 or Zero 2 W has no RTC: fake-hwclock restores a
 * stale time at boot, and only once systemd-timesyncd (or chrony) has synced is it right.
 */
export function clockSynced(policy: SyncPolicy, flagFile = "/run/systemd/timesync/synchronized"): boolean {
  if (policy === "always") return true;
  if (policy === "never") return false;
  if (existsSync(flagFile)) return true;
  return false;
}

export function systemClock(policy: SyncPolicy = "auto"): Clock {
  const boot = bootId();
  let synced = clockSynced(policy);
  let lastCheck = monoMs();
  return {
    mono: monoMs,
    now() {
      const mono = monoMs();
      if (!synced && mono - lastCheck > 5_000) {
        synced = clockSynced(policy);
        lastCheck = mono;
      }
      return { wall: Date.now(), boot, mono, synced };
    },
  };
}

/**
 * A clock whose wall time runs `speed` times faster from `startWall` (the demo runs a barn-day in
 * ten seconds). Monotonic time stays real: timeouts are never accelerated.
 */
export function acceleratedClock(speed: number, startWall: number, originReal = Date.now()): Clock {
  const boot = bootId();
  // Processes that share `originReal` (the demo's cloud and agents) share one simulated time.
  const t0 = monoMs() - (Date.now() - originReal);
  return {
    mono: monoMs,
    now() {
      const mono = monoMs();
      return { wall: Math.round(startWall + (mono - t0) * speed), boot, mono, synced: true };
    },
  };
}
