import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { detectClockSync, detectClockSyncAsync, type SyncProbes, TIMESYNCD_FLAG } from "./clock-sync.ts";

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
 * stale time at boot, and only once a time service has synced is it right. `auto` asks
 * systemd-timesyncd, the kernel, chrony and ntpd (core/clock-sync.ts).
 */
export function clockSynced(policy: SyncPolicy, flagFile = TIMESYNCD_FLAG, probes?: SyncProbes): boolean {
  if (policy === "always") return true;
  if (policy === "never") return false;
  return detectClockSync(probes, flagFile).synced;
}

/** While unsynced, how often `auto` asks again (the tools are processes: not at every record). */
export const RECHECK_MS = 30_000;

/**
 * While `auto` finds the clock unsynced, it asks again every RECHECK_MS from a timer of its own
 * (unref'd; stopped once synced), never from `now()`, and as child processes the event loop does not
 * wait on: a record's capture time, and the reads that take it, must not wait on them (issue #15:
 * stamp at read). Only the check at start is synchronous (the first record needs its answer).
 */
export function systemClock(policy: SyncPolicy = "auto", probes?: SyncProbes): Clock {
  const boot = bootId();
  let synced = clockSynced(policy, TIMESYNCD_FLAG, probes);
  if (!synced && policy === "auto") {
    let asking = false;
    const t = setInterval(() => {
      if (asking) return;
      asking = true;
      void detectClockSyncAsync(probes)
        .then((v) => {
          synced = v.synced;
          if (synced) clearInterval(t);
        })
        // a probe that throws leaves the verdict as it was (and is asked again), never an unhandled rejection
        .catch(() => {})
        .finally(() => {
          asking = false;
        });
    }, RECHECK_MS);
    t.unref();
  }
  return {
    mono: monoMs,
    now() {
      return { wall: Date.now(), boot, mono: monoMs(), synced };
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
