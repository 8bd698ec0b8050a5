import { execFile } from "node:child_process";
import type { Logger } from "../../core/log.ts";

/**
 * sd_notify for `Type=notify` + `WatchdogSec=` units (deploy/barnlink-agent.service). Node has no
 * unix datagram sockets, so this runs `systemd-notify`, which needs `NotifyAccess=all` in the
 * unit (the message comes from a child, not the main PID). Without NOTIFY_SOCKET it does nothing.
 */
export function startSystemdNotify(
  log: Logger,
  healthy: () => boolean = () => true,
): { stopping(): void; stop(): void } {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return { stopping() {}, stop() {} };
  const send = (...msgs: string[]) =>
    execFile("systemd-notify", [`--pid=${process.pid}`, ...msgs], (e) => {
      if (e) log.warn({ err: e.message }, "systemd-notify failed");
    });
  send("--ready", "STATUS=running");
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  const forUs = !process.env.WATCHDOG_PID || Number(process.env.WATCHDOG_PID) === process.pid;
  let timer: NodeJS.Timeout | undefined;
  if (usec > 0 && forUs) {
    // Ping at half the watchdog period. The ping itself proves the event loop runs; `healthy`
    // adds a check that the outbox still answers, so a wedged database also gets a restart.
    timer = setInterval(
      () => {
        let ok = false;
        try {
          ok = healthy();
        } catch {
          ok = false;
        }
        if (ok) send("WATCHDOG=1");
        else log.warn("health check failed: withholding the watchdog ping so systemd restarts the agent");
      },
      Math.max(1000, usec / 2000),
    );
    timer.unref();
  }
  return {
    stopping: () => send("STOPPING=1"),
    stop: () => clearInterval(timer),
  };
}
