import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordingContext } from "../../test/helpers/recording-context.ts";
import { tmpDir } from "../../test/helpers/services.ts";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { CameraHub } from "../camera-types.ts";
import { calibrate } from "./calibrate.ts";
import { patrolConfig, patrolDriver } from "./index.ts";
import { parsePlan } from "./plan.ts";
import { RACK_PANEL, rackChecks, rackPanel, renderPanel } from "./sim-panel.ts";

describe("patrol (simulated robot and camera)", () => {
  it("the simulated robot walks its plan and docks with a round summary; only the planted faults are violations", async () => {
    const cfg = patrolConfig.parse({
      driver: "patrol",
      name: "robot",
      controller: {
        transport: "sim",
        interval: 2500,
        dockTime: 600_000,
        faults: { "rack-a2": { faultLamp: "red" }, "rack-a3": { temperature: 41.5 } },
      },
      plan: {
        version: "demo-1",
        checkpoints: [
          ...["rack-a1", "rack-a2", "rack-a3"].map((id) => ({
            id,
            limits: { temperature: { max: 32 } },
            burst: 4,
            checks: rackChecks(id, 8),
          })),
          { id: "ups-room", limits: { temperature: { max: 28 } } },
        ],
      },
    });
    const hub = new CameraHub();
    const ctx = new RecordingContext();
    const src = patrolDriver.create(cfg, { cameras: hub });
    await src.start(ctx);
    try {
      const round = await waitFor(() => ctx.readings.find((r) => r.kind === "round"), "round summary", {
        timeoutMs: 90_000,
      });
      expect(round.body).toMatchObject({
        plan: "demo-1",
        visited: ["rack-a1", "rack-a2", "rack-a3", "ups-room"],
        skipped: [],
        violations: 2,
      });
      const bad = ctx.readings
        .filter((r) => r.kind === "inspection")
        .flatMap((r) =>
          (r.body as { checkpoint: string; violations: string[] }).violations.map(
            (v) => `${(r.body as { checkpoint: string }).checkpoint} ${v}`,
          ),
        );
      expect(bad).toEqual([
        expect.stringMatching(/^rack-a2 fault-lamp: expected off, seen red steady$/),
        expect.stringMatching(/^rack-a3 temperature: expected <= 32, seen 41\.\d$/),
      ]);
      expect(hub.get("robot.camera")).toBeDefined();
    } finally {
      await src.stop();
    }
  }, 120_000);

  it("refuses a bad plan with a coded error naming the field", () => {
    expect(() => parsePlan({ version: "1", checkpoints: [{ id: "a" }, { id: "a" }] })).toThrow(
      /BL_PATROL_PLAN|duplicate checkpoint a/,
    );
    expect(() =>
      parsePlan({
        version: "1",
        checkpoints: [
          { id: "a", checks: [{ id: "l", type: "lamp", region: [0, 0, 0, 5], expect: { colour: "red" } }] },
        ],
      }),
    ).toThrow(/checkpoints\.0\.checks\.0\.region: width and height must be > 0/);
    try {
      parsePlan({ version: "1", checkpoints: [] });
    } catch (e) {
      expect((e as { code: string }).code).toBe("BL_PATROL_PLAN");
    }
  });

  it("calibrates from a healthy snapshot: expectations from what it sees, regions drawn; a region off the lamp is refused", async () => {
    const snap = await renderPanel(rackPanel("rack-c9", { loadKw: 3.7 }));
    const P = RACK_PANEL;
    const r = await calibrate(snap, [
      { id: "power", type: "lamp", region: P.power },
      { id: "breaker", type: "switch", region: P.breaker, onIs: "up" },
      { id: "load", type: "meter", region: P.meter, digits: 3, decimals: 1, expect: { max: 8 } },
      { id: "label", type: "label", region: P.label },
    ]);
    expect(r.seen).toEqual([
      { id: "power", seen: "green" },
      { id: "breaker", seen: "lever up" },
      { id: "load", seen: "3.7" },
      { id: "label", seen: "rack-c9" },
    ]);
    expect(r.checks.map((c) => c.expect)).toEqual([
      { colour: "green", blinking: false },
      "on",
      { max: 8 },
      "rack-c9",
    ]);
    expect(r.annotated.subarray(1, 4).toString()).toBe("PNG");
    const dir = tmpDir();
    writeFileSync(join(dir, "snap.jpg"), snap);
    await expect(calibrate(snap, [{ id: "x", type: "label", region: P.power }])).rejects.toThrow(
      /no QR code/,
    );
    await expect(calibrate(snap, [{ id: "x", type: "lamp", region: [300, 0, 40, 40] }])).rejects.toThrow(
      /BL_EQUIP_REGION|outside the 320×240 frame/,
    );
  });
});
