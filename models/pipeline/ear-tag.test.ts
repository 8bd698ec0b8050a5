import { describe, expect, it } from "vitest";
import { drawQr, earTagText } from "../synth/qr.ts";
import { newCanvas } from "../synth/render.ts";
import { EarTagReader, readEarTag, scanRegion } from "./ear-tag.ts";

// A 640×480 grey frame with one ear tag beside a 128-px face ROI (where the synthetic feeder puts it).
function frame(tagAt: { x: number; y: number } | null) {
  const c = newCanvas(640, 480);
  c.data.fill(200);
  if (tagAt) drawQr(c, earTagText("p7"), tagAt.x, tagAt.y, 3);
  return c;
}
const roi = { left: 256, top: 176, width: 128, height: 128 };

describe("ear-tag QR scan, gated", () => {
  it("scans the ROIs grown by the margin, clamped to the frame; the whole frame without ROIs", () => {
    expect(scanRegion([roi], 640, 480, 0.75)).toEqual({ left: 160, top: 80, width: 320, height: 320 });
    expect(scanRegion([{ left: 0, top: 0, width: 100, height: 100 }], 640, 480, 0.5)).toEqual({
      left: 0,
      top: 0,
      width: 150,
      height: 150,
    });
    expect(scanRegion([], 640, 480, 0.75)).toEqual({ left: 0, top: 0, width: 640, height: 480 });
  });

  it("finds a tag beside the face inside the region, and not one far outside it", () => {
    const near = frame({ x: roi.left + roi.width + 4, y: roi.top });
    const region = scanRegion([roi], 640, 480, 0.75)!;
    expect(readEarTag(near.data, 640, 480, region)).toBe("p7");
    expect(readEarTag(near.data, 640, 480)).toBe("p7"); // whole frame
    const far = frame({ x: 540, y: 5 });
    expect(readEarTag(far.data, 640, 480)).toBe("p7");
    expect(readEarTag(far.data, 640, 480, region)).toBeNull();
  });

  it("scans every frame while a face is unknown or the gallery is empty, else once per everyMs", () => {
    const f = frame({ x: roi.left + roi.width + 4, y: roi.top });
    const tags = new EarTagReader({ everyMs: 5000, margin: 0.75 });
    // Empty gallery: every frame (enrolment).
    expect(tags.read(f.data, 640, 480, [roi], 0, true)).toBe("p7");
    expect(tags.read(f.data, 640, 480, [roi], 100, true)).toBe("p7");
    // Known faces only: one scan per 5 s.
    const seen: Array<string | null> = [];
    for (let t = 200; t <= 10_200; t += 200) seen.push(tags.read(f.data, 640, 480, [roi], t, false));
    expect(seen.filter((x) => x === "p7")).toHaveLength(2); // at 5100 and 10100 ms
    // An unknown face: the next frame is scanned at once.
    tags.unknownSeen = true;
    expect(tags.read(f.data, 640, 480, [roi], 10_300, false)).toBe("p7");
    expect(tags.read(f.data, 640, 480, [roi], 10_400, false)).toBeNull();
    expect(tags.scans).toBe(5);
    expect(tags.skipped).toBe(50);
  });
});
