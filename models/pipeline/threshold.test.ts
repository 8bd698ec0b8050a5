import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Gallery } from "../gallery/gallery.ts";
import { rng } from "../synth/rng.ts";
import { tmpPath } from "../test-helpers.ts";
import { herdOperatingPoint } from "./threshold.ts";

/** A gallery of `pigs` pigs × 4 templates: each pig a direction, its templates `spread` around it. */
function gallery(pigs: number, spread: number): Gallery {
  const dim = 16;
  const g = new Gallery(join(tmpPath("thr"), "..", `thr-${Math.random()}.db`), { dim, modelVersion: "t" });
  const r = rng(2);
  for (let p = 0; p < pigs; p++) {
    const c = Array.from({ length: dim }, () => r() - 0.5);
    const templates = Array.from({ length: 4 }, () => {
      const v = Float32Array.from(c, (x) => x + (r() - 0.5) * spread);
      const n = Math.hypot(...v);
      return { vec: v.map((x) => x / n) };
    });
    g.enrol(`p${p}`, templates, "test", 0);
  }
  return g;
}

describe("herd-calibrated threshold", () => {
  it("lowers a card threshold that sits above the herd's own same-pig scores (not only raised)", () => {
    const g = gallery(30, 0.6);
    const op = herdOperatingPoint(0.99, g);
    expect(op.source).toBe("herd");
    expect(op.threshold).toBeLessThan(0.99);
    // at the card's 0.99 almost no pig would be identified; at the herd's threshold most are
    const atCard = g.mateScores().filter((s) => s >= 0.99).length / g.mateScores().length;
    expect(atCard).toBeLessThan(0.2);
    expect(op.identificationRate!).toBeGreaterThan(0.8);
    expect(op.unknownRejection!).toBeGreaterThanOrEqual(0.99);
    g.close();
  });

  it("raises a card threshold that a big herd's impostors exceed, and keeps the card's on a small gallery", () => {
    const g = gallery(30, 0.6);
    const op = herdOperatingPoint(-0.5, g);
    expect(op.threshold).toBeGreaterThan(-0.5);
    g.close();
    const small = gallery(3, 0.6);
    expect(herdOperatingPoint(0.7, small)).toMatchObject({ threshold: 0.7, source: "card" });
    small.close();
  });
});
