import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { requireTool } from "../../../test/helpers/tools.ts";
import { cameraCheck, type Region } from "../plan.ts";
import { RACK_PANEL, rackChecks, rackPanel, renderPanel } from "../sim-panel.ts";
import { decodeRgb } from "./image.ts";
import { readQrLabel } from "./label.ts";
import { lampColour, lampState } from "./lamp.ts";
import { runCheck } from "./run-checks.ts";
import { readSevenSegment } from "./seven-segment.ts";
import { switchDirection } from "./switch-position.ts";

/**
 * Golden tests of the camera equipment checks on images rendered here: SIMULATED camera frames
 * (SVG drawn by sharp, JPEG-encoded as a camera would send them) and, independently of our own
 * renderer, frames drawn by ffmpeg's lavfi filters.
 */
const P = RACK_PANEL;
const frames = async (spec: ReturnType<typeof rackPanel>, n = 1) =>
  Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const jpeg = await renderPanel(spec, i);
      return { rgb: await decodeRgb(jpeg), sha256: createHash("sha256").update(jpeg).digest("hex") };
    }),
  );

describe("equipment checks (golden images)", () => {
  it("reads every lamp colour, steady and blinking, from a burst", async () => {
    for (const colour of ["off", "green", "amber", "red"] as const) {
      const [f] = await frames(
        rackPanel("r1", { faultLamp: colour === "off" ? undefined : (colour as "red") }),
      );
      if (colour === "green") continue; // the fault lamp is never green; the power lamp is
      expect(lampColour(f!.rgb, P.fault)).toBe(colour);
    }
    const [g] = await frames(rackPanel("r1"));
    expect(lampColour(g!.rgb, P.power)).toBe("green");
    const burst = await frames(rackPanel("r1", { faultLamp: "amber", faultBlinking: true }), 4);
    expect(
      lampState(
        burst.map((b) => b.rgb),
        P.fault,
      ),
    ).toMatchObject({ colour: "amber", blinking: true });
    const steady = await frames(rackPanel("r1", { faultLamp: "red" }), 4);
    expect(
      lampState(
        steady.map((b) => b.rgb),
        P.fault,
      ),
    ).toMatchObject({ colour: "red", blinking: false });
  });

  it.runIf(requireTool("ffmpeg"))(
    "reads lamps drawn by ffmpeg (an independent renderer), including a dim off lamp",
    async () => {
      const png = execFileSync("ffmpeg", [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x404040:s=160x60",
        "-vf",
        "drawbox=x=10:y=10:w=40:h=40:color=0xff2000:t=fill,drawbox=x=60:y=10:w=40:h=40:color=0x20d040:t=fill,drawbox=x=110:y=10:w=40:h=40:color=0x303030:t=fill",
        "-frames:v",
        "1",
        "-f",
        "image2pipe",
        "-vcodec",
        "mjpeg",
        "-q:v",
        "3",
        "-",
      ]);
      const img = await decodeRgb(png);
      expect(lampColour(img, [10, 10, 40, 40])).toBe("red");
      expect(lampColour(img, [60, 10, 40, 40])).toBe("green");
      expect(lampColour(img, [110, 10, 40, 40])).toBe("off");
    },
  );

  it("tells a breaker's lever up from down, and says so when no lever is in view", async () => {
    const [on] = await frames(rackPanel("r1"));
    const [off] = await frames(rackPanel("r1", { breaker: "off" }));
    expect(switchDirection(on!.rgb, P.breaker)).toBe("up");
    expect(switchDirection(off!.rgb, P.breaker)).toBe("down");
    // A plain patch of wall: nothing stands out.
    expect(switchDirection(on!.rgb, [250, 20, 40, 40])).toBeNull();
  });

  it("reads a seven-segment meter, and refuses to guess when a digit is not a digit", async () => {
    for (const kw of [4.2, 0.8, 12.7, 9.9, 36.5]) {
      const [f] = await frames(rackPanel("r1", { loadKw: kw }));
      expect(readSevenSegment(f!.rgb, P.meter, 3, 1).value).toBeCloseTo(kw, 5);
    }
    const spec = rackPanel("r1");
    spec.meters![0]!.text = "4-2";
    const [bad] = await frames(spec);
    expect(readSevenSegment(bad!.rgb, P.meter, 3, 1)).toMatchObject({ value: null, text: "4-2" });
  });

  it("reads the rack's QR label", async () => {
    const [f] = await frames(rackPanel("dc1-row3-rack-a3"));
    expect(readQrLabel(f!.rgb, P.label)).toBe("dc1-row3-rack-a3");
    expect(readQrLabel(f!.rgb, P.power)).toBeNull();
  });

  it("runs a plan's checks: a healthy rack passes all, each planted fault fails only its own check", async () => {
    const checks = rackChecks("rack-a3", 8);
    const run = async (o: Parameters<typeof rackPanel>[1]) => {
      const fs = await frames(rackPanel("rack-a3", o), 4);
      return Object.fromEntries(checks.map((c) => [c.id, runCheck(c, fs)]));
    };
    const healthy = await run({});
    expect(Object.values(healthy).map((r) => [r.id, r.ok])).toEqual(checks.map((c) => [c.id, true]));
    expect(healthy["power-lamp"]!.frameSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(healthy["load-kw"]!.region).toEqual(P.meter);
    const faults: Array<[Parameters<typeof rackPanel>[1], string, string]> = [
      [{ faultLamp: "red" }, "fault-lamp", "red steady"],
      [{ faultLamp: "amber", faultBlinking: true }, "fault-lamp", "amber blinking"],
      [{ breaker: "off" }, "breaker", "off"],
      [{ loadKw: 9.6 }, "load-kw", "9.6"],
      [{ label: "rack-b7" }, "rack-label", "rack-b7"],
    ];
    for (const [o, id, seen] of faults) {
      const r = await run(o);
      expect(r[id], id).toMatchObject({ ok: false, seen });
      expect(
        Object.values(r)
          .filter((x) => x.ok !== true)
          .map((x) => x.id),
      ).toEqual([id]);
    }
  });

  it("a check with no frame, or a blink with one frame, is skipped with the reason (not passed)", async () => {
    const lamp = cameraCheck.parse({
      id: "l",
      type: "lamp",
      region: P.fault,
      expect: { colour: "amber", blinking: true },
    });
    expect(runCheck(lamp, [])).toMatchObject({ ok: null, skipped: "no camera frame" });
    const one = await frames(rackPanel("r1"), 1);
    expect(runCheck(lamp, one)).toMatchObject({ ok: null, skipped: /one frame/ });
    const outside = cameraCheck.parse({
      id: "x",
      type: "switch",
      region: [300, 200, 50, 50] as Region,
      expect: "on",
    });
    expect(runCheck(outside, one)).toMatchObject({ ok: null, skipped: /outside the 320×240 frame/ });
  });
});
