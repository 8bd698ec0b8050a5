import { afterEach, describe, expect, it, vi } from "vitest";
import { RECHECK_MS, systemClock } from "./clock.ts";
import { detectClockSync, type SyncProbes, systemProbes } from "./clock-sync.ts";

// Fakes of each time service, with the tools' real output shapes (recorded on Debian 12 / Raspberry
// Pi OS): systemd-timesyncd's flag file, timedatectl, chronyc and ntpq.
const CHRONY_SYNCED = `Reference ID    : C0A80001 (192.168.0.1)
Stratum         : 3
Ref time (UTC)  : Tue Dec 01 21:40:12 2026
System time     : 0.000012345 seconds slow of NTP time
Last offset     : -0.000004561 seconds
RMS offset      : 0.000021234 seconds
Frequency       : 12.345 ppm fast
Residual freq   : -0.001 ppm
Skew            : 0.012 ppm
Root delay      : 0.012345678 seconds
Root dispersion : 0.000456789 seconds
Update interval : 64.2 seconds
Leap status     : Normal
`;
const CHRONY_UNSYNCED = `Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
`;
const NTPQ_SYNCED = "leap=00\n";
const NTPQ_UNSYNCED = "leap=11\n";

type Tool = { code: number; stdout: string } | null;
function fake(o: {
  flag?: boolean;
  timedatectl?: Tool;
  chronyc?: Tool;
  ntpq?: Tool;
}): SyncProbes & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    exists: () => o.flag === true,
    run(cmd) {
      asked.push(cmd);
      return (o as Record<string, Tool | undefined>)[cmd] ?? null;
    },
  };
}
const ok = (stdout: string): Tool => ({ code: 0, stdout });

describe("clock sync detection (clock.synced: auto)", () => {
  it("systemd-timesyncd: its flag file, without running a tool", () => {
    const p = fake({ flag: true });
    expect(detectClockSync(p)).toMatchObject({ synced: true, by: "timesyncd" });
    expect(p.asked).toEqual([]);
  });

  it("the kernel's state through timedatectl (any daemon that disciplines the clock)", () => {
    expect(detectClockSync(fake({ timedatectl: ok("yes\n") }))).toMatchObject({ synced: true, by: "kernel" });
  });

  it("chrony: synchronised by its leap status, even where timedatectl says no or is missing", () => {
    expect(detectClockSync(fake({ timedatectl: ok("no\n"), chronyc: ok(CHRONY_SYNCED) }))).toMatchObject({
      synced: true,
      by: "chrony",
    });
    expect(detectClockSync(fake({ chronyc: ok(CHRONY_SYNCED) })).synced).toBe(true);
    const not = detectClockSync(fake({ timedatectl: ok("no\n"), chronyc: ok(CHRONY_UNSYNCED) }));
    expect(not).toMatchObject({ synced: false, by: "none" });
    expect(not.detail).toMatch(/Not synchronised/);
  });

  it("ntpd: leap 00 is synchronised, 11 is not", () => {
    expect(detectClockSync(fake({ ntpq: ok(NTPQ_SYNCED) }))).toMatchObject({ synced: true, by: "ntpd" });
    expect(detectClockSync(fake({ timedatectl: ok("no\n"), ntpq: ok(NTPQ_UNSYNCED) })).synced).toBe(false);
  });

  it("no time service at all, or one that fails: not synchronised, and says why", () => {
    expect(detectClockSync(fake({}))).toEqual({ synced: false, by: "none", detail: "no time service found" });
    // chronyc with chronyd stopped exits 1 ("506 Cannot talk to daemon").
    expect(detectClockSync(fake({ chronyc: { code: 1, stdout: "" } })).synced).toBe(false);
  });
});

describe("systemClock (clock.synced: auto) asks again from a timer, never while stamping", () => {
  afterEach(() => vi.useRealTimers());

  it("no tool runs inside now(); every RECHECK_MS one check runs, without blocking, and none once synced", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const tools = { chronyc: ok(CHRONY_UNSYNCED) };
    const p = fake(tools);
    // the re-checks' tools answer when the test says (as a child process does, later)
    const waiting: Array<() => void> = [];
    const asyncAsked: string[] = [];
    p.runAsync = (cmd) => {
      asyncAsked.push(cmd);
      return new Promise((r) => waiting.push(() => r((tools as Record<string, Tool>)[cmd] ?? null)));
    };
    const settle = () => new Promise((r) => setImmediate(r)); // not faked: promise callbacks run
    const answer = async () => {
      await settle();
      while (waiting.length > 0) {
        waiting.shift()!();
        await settle(); // the check goes on to its next tool, or ends
      }
    };
    const clock = systemClock("auto", p);
    const first = p.asked.length; // the check at start, synchronous: the first record needs it
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) expect(clock.now().synced).toBe(false);
    expect(p.asked.length).toBe(first);
    vi.advanceTimersByTime(RECHECK_MS);
    // a re-check is under way: stamping goes on meanwhile, and no tool ran synchronously
    expect(asyncAsked.length).toBe(1);
    expect(clock.now().synced).toBe(false);
    // a tool that does not answer before the next tick: that tick does not start a second check
    vi.advanceTimersByTime(RECHECK_MS);
    expect(asyncAsked.length).toBe(1);
    await answer();
    expect(asyncAsked.length).toBe(first);
    expect(p.asked.length).toBe(first);
    tools.chronyc = ok(CHRONY_SYNCED);
    vi.advanceTimersByTime(RECHECK_MS);
    await answer();
    expect(clock.now().synced).toBe(true);
    const asked = asyncAsked.length;
    vi.advanceTimersByTime(10 * RECHECK_MS);
    expect(asyncAsked.length).toBe(asked);
    expect(p.asked.length).toBe(first);
  });

  it("a re-check whose probe throws leaves the clock unsynced and asks again, without an unhandled rejection", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let calls = 0;
    const p = fake({});
    p.runAsync = async () => {
      calls++;
      throw new Error("probe broke");
    };
    const clock = systemClock("auto", p);
    const settle = () => new Promise((r) => setImmediate(r));
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on("unhandledRejection", onRejection);
    try {
      vi.advanceTimersByTime(RECHECK_MS);
      await settle();
      vi.advanceTimersByTime(RECHECK_MS);
      await settle();
      await settle();
    } finally {
      process.off("unhandledRejection", onRejection);
    }
    expect(calls).toBe(2);
    expect(clock.now().synced).toBe(false);
    expect(rejections).toEqual([]);
  });

  it("the system's async runner: a tool's exit code and output, null for a missing one", async () => {
    expect(await systemProbes.runAsync!("sh", ["-c", "echo hi; exit 3"])).toEqual({
      code: 3,
      stdout: "hi\n",
    });
    expect(await systemProbes.runAsync!("sh", ["-c", "echo ok"])).toEqual({ code: 0, stdout: "ok\n" });
    expect(await systemProbes.runAsync!("barnlink-no-such-tool", [])).toBeNull();
    expect(systemProbes.run("sh", ["-c", "echo hi; exit 3"])).toEqual({ code: 3, stdout: "hi\n" });
  });
});
