import { describe, expect, it } from "vitest";
import { acceleratedClock } from "../../core/clock.ts";
import { silentLogger } from "../../core/log.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import type { AlarmInput, Reading } from "../types.ts";
import { simPatrolConfig, simPatrolDriver } from "./index.ts";

describe("sim-patrol", () => {
  it("walks the route with checkpoint records, finds the planted fault, and docks between rounds", async () => {
    const cfg = simPatrolConfig.parse({
      driver: "sim-patrol",
      name: "robot",
      route: [
        { id: "a", temperature: 22 },
        { id: "b", temperature: 30, device: "pdu-1" },
      ],
      interval: "1m",
      dockTime: "5m",
      faults: ["b"],
      tick: 20,
    });
    const readings: Reading[] = [];
    const alarms: AlarmInput[] = [];
    const src = simPatrolDriver.create(cfg);
    // 600× clock: a minute of patrol every 100 ms.
    await src.start({
      clock: acceleratedClock(600, Date.UTC(2026, 0, 1)),
      log: silentLogger,
      emit: (rs) => readings.push(...rs),
      alarm: (a) => alarms.push(a),
      count: () => {},
      signal: new AbortController().signal,
    });
    // Two checkpoints and the dock round trip, however long a busy machine takes.
    await waitFor(
      () =>
        readings.filter((r) => r.kind === "checkpoint").length >= 2 &&
        readings.filter((r) => r.kind === "event").length >= 2,
      "a patrol round",
    );
    await src.stop();
    const cps = readings
      .filter((r) => r.kind === "checkpoint")
      .map((r) => r.body as { checkpoint: string; ok: boolean; findings?: string[] });
    expect(cps.length).toBeGreaterThanOrEqual(2);
    expect(cps.find((c) => c.checkpoint === "a")?.ok).toBe(true);
    const b = cps.find((c) => c.checkpoint === "b")!;
    expect(b.ok).toBe(false);
    expect(b.findings?.join(" ")).toMatch(/pdu-1: fault indicator lit/);
    expect(alarms[0]).toMatchObject({ code: "patrol.finding", subject: "b", active: true });
    const dock = readings.filter((r) => r.kind === "event").map((r) => (r.body as { state: boolean }).state);
    expect(dock.slice(0, 2)).toEqual([false, true]);
  });
});
