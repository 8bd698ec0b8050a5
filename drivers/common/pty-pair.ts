import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { ERR_DRIVER_UNAVAILABLE } from "../errors.ts";
import { sleep } from "./backoff.ts";

export interface PtyPair {
  /** Symlinks to the two ends: what one writes, the other reads (a null-modem cable). */
  a: string;
  b: string;
  stop(): Promise<void>;
}

/** Stops a child and waits for it to be gone (SIGKILL after a grace period). */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(t);
}

/**
 * A linked pty pair made by socat, so real serial code (serialport, pymodbus) talks over a real
 * tty without hardware. Killing socat removes both ends: what an unplugged USB adapter looks like.
 */
export async function openPtyPair(a: string, b: string): Promise<PtyPair> {
  // Own process group (setsid): a terminal's Ctrl-C must not unplug the "cable" under a draining agent.
  const child = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: "ignore",
    detached: true,
  });
  const failed = new Promise<Error>((r) => child.once("error", r));
  // Generous: socat starts in milliseconds, but a busy gateway (or CI machine) can take seconds.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (existsSync(a) && existsSync(b)) return { a, b, stop: () => stopChild(child) };
    const e = await Promise.race([failed, sleep(30).then(() => undefined)]);
    if (e) throw ERR_DRIVER_UNAVAILABLE(`socat failed to start (apt-get install socat): ${e.message}`);
  }
  await stopChild(child);
  throw ERR_DRIVER_UNAVAILABLE(`socat did not create ${a} and ${b} in 15 s`);
}
