import { existsSync } from "node:fs";

/** Whether the wall clock is synchronised, and who said so (for the log and the gateway page). */
export interface SyncVerdict {
  synced: boolean;
  by: "timesyncd" | "kernel" | "chrony" | "ntpd" | "none";
  detail: string;
}

type ToolResult = { code: number; stdout: string } | null;

/** How the checks reach the system; tests give recorded tool output instead. */
export interface SyncProbes {
  exists(path: string): boolean;
  /** Runs a tool; null when it is not installed (or did not answer in time). */
  run(cmd: string, args: string[]): ToolResult;
  /** The same without blocking the event loop (the agent's re-checks); `run` where absent. */
  runAsync?(cmd: string, args: string[]): Promise<ToolResult>;
}

export const TIMESYNCD_FLAG = "/run/systemd/timesync/synchronized";
const TOOL_TIMEOUT_MS = 2000;

export const systemProbes: SyncProbes = {
  exists: existsSync,
  run(cmd, args) {
    // node:child_process loads only when a tool is asked (not where timesyncd's flag answers, #15).
    const { spawnSync } = process.getBuiltinModule("node:child_process");
    const r = spawnSync(cmd, args, {
      encoding: "utf8",
      timeout: TOOL_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "ignore"],
    });
    if (r.error || r.status === null) return null;
    return { code: r.status, stdout: r.stdout ?? "" };
  },
  runAsync(cmd, args) {
    const { execFile } = process.getBuiltinModule("node:child_process");
    return new Promise((resolve) => {
      execFile(cmd, args, { encoding: "utf8", timeout: TOOL_TIMEOUT_MS }, (err, stdout) => {
        // missing (ENOENT), killed at the timeout, or no exit status: no answer
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve(typeof code === "number" ? { code, stdout: stdout ?? "" } : null);
      });
    });
  },
};

/** A tool to ask, and how to read its answer: a verdict when it says synchronised, else what it said. */
interface Check {
  cmd: string;
  args: string[];
  judge(stdout: string): SyncVerdict | string;
}

const CHECKS: Check[] = [
  {
    cmd: "timedatectl",
    args: ["show", "-p", "NTPSynchronized", "--value"],
    judge(out) {
      const v = out.trim();
      if (v === "yes") return { synced: true, by: "kernel", detail: "timedatectl NTPSynchronized=yes" };
      return `timedatectl NTPSynchronized=${v || "?"}`;
    },
  },
  {
    cmd: "chronyc",
    args: ["-n", "tracking"],
    judge(out) {
      const leap = /^Leap status\s*:\s*(.+)$/m.exec(out)?.[1]?.trim();
      if (leap && leap !== "Not synchronised")
        return { synced: true, by: "chrony", detail: `chronyc leap status ${leap}` };
      return `chronyc leap status ${leap ?? "?"}`;
    },
  },
  {
    cmd: "ntpq",
    args: ["-c", "rv 0 leap"],
    judge(out) {
      const leap = /leap=(\d\d)/.exec(out)?.[1];
      if (leap && leap !== "11") return { synced: true, by: "ntpd", detail: `ntpq leap=${leap}` };
      return `ntpq leap=${leap ?? "?"}`;
    },
  },
];

/** One check's answer: a synchronised verdict, or what it said pushed onto `said` (a missing tool says nothing). */
function judged(c: Check, r: ToolResult, said: string[]): SyncVerdict | undefined {
  if (r?.code !== 0) return undefined;
  const v = c.judge(r.stdout);
  if (typeof v !== "string") return v;
  said.push(v);
  return undefined;
}

const unsynced = (said: string[]): SyncVerdict => ({
  synced: false,
  by: "none",
  detail: said.join("; ") || "no time service found",
});

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
  for (const c of CHECKS) {
    const v = judged(c, p.run(c.cmd, c.args), said);
    if (v) return v;
  }
  return unsynced(said);
}

/** detectClockSync with the tools run as child processes the event loop does not wait on. */
export async function detectClockSyncAsync(
  p: SyncProbes = systemProbes,
  flagFile = TIMESYNCD_FLAG,
): Promise<SyncVerdict> {
  if (p.exists(flagFile)) return { synced: true, by: "timesyncd", detail: flagFile };
  const said: string[] = [];
  for (const c of CHECKS) {
    const v = judged(c, await (p.runAsync ? p.runAsync(c.cmd, c.args) : p.run(c.cmd, c.args)), said);
    if (v) return v;
  }
  return unsynced(said);
}
