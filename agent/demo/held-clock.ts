import { acceleratedClock, bootId, type Clock, monoMs } from "../../core/clock.ts";

export interface HeldClock extends Clock {
  /** Starts simulated time: from now on it runs `speed`× from `startWall`, shared with every process given the same `originReal`. */
  release(originReal: number): void;
  readonly held: boolean;
}

/**
 * The demo's fast clock, held at `startWall` until the demo releases it. The demo releases every
 * agent's clock and the cloud's at once when the last agent reports ready, so a slow start on a busy
 * machine costs no simulated barn-days (tranches held for "no readings" while the barns were still
 * starting).
 */
export function heldClock(speed: number, startWall: number): HeldClock {
  const boot = bootId();
  let running: Clock | undefined;
  return {
    mono: monoMs,
    now() {
      if (running) return running.now();
      return { wall: startWall, boot, mono: monoMs(), synced: true };
    },
    release(originReal) {
      running ??= acceleratedClock(speed, startWall, originReal);
    },
    get held() {
      return running === undefined;
    },
  };
}
