import { existsSync } from "node:fs";

/** Whether the wall clock is synchronised, and who said so (for the log and the gateway page). */
export interface SyncVerdict {
  synced: boolean;
  by: "timesyncd" | "kernel" | "chrony" | "ntpd" | "none";
  detail: string;
}

/** How the checks reach the system; tests give recorded tool output instead. */
export interface SyncProbes {
  exists(path: string): boolean;
  /** Runs a tool; null when it is not installed (or did not answer in time). */
  run(cmd: string, args: string[]): { code: number; stdout: string } | null;
}

export const TIMESYNCD_FLAG = "/run/systemd/timesync/synchronized";

export const systemProbes: SyncProbes = {
  exists: existsSync,
  run(cmd, args) {
    // node:child_process loads only when a tool is asked (not where timesyncd's flag answers, #15).
    const { spawnSync } = process.getBuiltinModule("node:child_process");
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] });
    if (r.error || r.status === null) return null;
    return { code: r.status, stdout: r.stdout ?? "" };
  },
};

/**
 * Asks, in order, whoever can know whether the wall clock is right: systemd-timesyncd's flag file;
 * the kernel's own state (`timedatectl show -p NTPSynchronized`: systemd's reading of adjtimex(2),
 * which chrony and ntpd keep too, STA_UNSYNC clear); chrony (`chronyc -n tracking`, "Leap status :
 * Normal"); ntpd (`ntpq -c "rv 0 leap"`: leap=00/01/10 synchronised, 11 not, RFC 5905 §7.3). The first
 * that says synchronised wins; if none does, the clock is not trusted. A tool that is missing is
 * skipped.
 */
export function detectClockSync(p: SyncProbes = systemProbes, flagFile = TIMESYNCD_FLAG): SyncVerdict {
  if (p.exists(flagFile)) return { synced: true, by: "timesyncd", detail: flagFile };
  const said: string[] = [];
  const kernel = p.run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]);
  if (kernel?.code === 0) {
    const v = kernel.stdout.trim();
    if (v === "yes") return { synced: true, by: "kernel", detail: "timedatectl NTPSynchronized=yes" };
    said.push(`timedatectl NTPSynchronized=${v || "?"}`);
  }
  const chrony = p.run("chronyc", ["-n", "tracking"]);
  if (chrony?.code === 0) {
    const leap = /^Leap status\s*:\s*(.+)$/m.exec(chrony.stdout)?.[1]?.trim();
    if (leap && leap !== "Not synchronised")
      return { synced: true, by: "chrony", detail: `chronyc leap status ${leap}` };
    said.push(`chronyc leap status ${leap ?? "?"}`);
  }
  const ntp = p.run("ntpq", ["-c", "rv 0 leap"]);
  if (ntp?.code === 0) {
    const leap = /leap=(\d\d)/.exec(ntp.stdout)?.[1];
    if (leap && leap !== "11") return { synced: true, by: "ntpd", detail: `ntpq leap=${leap}` };
    said.push(`ntpq leap=${leap ?? "?"}`);
  }
  return { synced: false, by: "none", detail: said.join("; ") || "no time service found" };
}
