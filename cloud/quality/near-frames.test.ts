import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { hammingHex, phashOfGrey } from "../../core/phash.ts";
import { framePhash } from "../../drivers/camera/phash.ts";
import { renderPen } from "../../drivers/sim-camera/synthetic.ts";
import { analyse } from "./analyse.ts";
import { defaultParams, H, qualityInput, T0 } from "./test-input.ts";
import type { QRow, QualityInput } from "./types.ts";

const p = defaultParams;
const W = 320;
const HT = 240;
const PIGS = 12;

/** What a copier does to a frame before sending it again. */
const EDITS: Record<string, (jpeg: Buffer) => Promise<Buffer>> = {
  "re-encoded at quality 40": (j) => sharp(j).jpeg({ quality: 40 }).toBuffer(),
  "brightened 5%": (j) => sharp(j).linear(1.05, 4).jpeg({ quality: 80 }).toBuffer(),
  "shifted by one pixel": (j) =>
    sharp(j)
      .extend({ left: 1, background: "#d8c38a" })
      .extract({ left: 0, top: 0, width: W, height: HT })
      .jpeg({ quality: 80 })
      .toBuffer(),
};

let seq = 0;
const sighting = (t: number, sha: string, ph: string | undefined): QRow => ({
  device: "gw1",
  stream: "camera.sightings",
  seq: ++seq,
  kind: "sighting",
  t,
  body: { camera: "feeder", pig: null, score: 0.9, frameSha256: sha, ...(ph ? { framePhash: ph } : {}) },
});
const sha = (n: string) => n.padStart(64, "0");

const input = (frames: QRow[]): QualityInput => qualityInput({ frames });
const near = (q: QualityInput) => analyse(q, p).filter((f) => f.check === "near-frames");

// Two weeks of a feeder camera, one frame every 3 h: pen frames rendered by sim-camera (12 pigs
// that wander), so every hash below is of a real JPEG.
const EVERY = 3;
const times = Array.from({ length: (14 * 24) / EVERY }, (_, i) => T0 + i * EVERY * H);
// sim-camera's pigs wander periodically in the frame number: a prime stride gives unrelated scenes.
const live = await Promise.all(times.map((_, i) => renderPen(1000 + i * 7919, W, HT, PIGS)));
const livePh = await Promise.all(live.map(framePhash));

describe("perceptual hash (core/phash.ts, drivers/camera/phash.ts)", () => {
  it.each(Object.keys(EDITS))("a frame %s stays within the distance; the SHA-256 changes", async (edit) => {
    const copy = await EDITS[edit]!(live[10]!);
    expect(copy.equals(live[10]!)).toBe(false);
    expect(hammingHex(await framePhash(copy), livePh[10]!)).toBeLessThanOrEqual(p.frames.maxDistance);
  });
  it("different scenes of the pen (other pigs, other times) mostly lie far apart", async () => {
    const other = [await framePhash(await renderPen(3, W, HT, 4)), ...livePh];
    const d: number[] = [];
    for (let i = 0; i < other.length; i++)
      for (let j = i + 1; j < other.length; j++) d.push(hammingHex(other[i]!, other[j]!));
    d.sort((a, b) => a - b);
    expect(d[d.length >> 1]).toBeGreaterThanOrEqual(2 * p.frames.maxDistance);
    expect(d.filter((x) => x <= p.frames.maxDistance).length / d.length).toBeLessThan(0.05);
  });
  it("hashes are 16 hex digits; brightness alone does not change them; distance is symmetric", () => {
    const ramp = Uint8Array.from(
      { length: 1024 },
      (_, i) => (Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453)) * 200,
    );
    const lit = ramp.map((v) => v + 20);
    expect(phashOfGrey(ramp)).toMatch(/^[0-9a-f]{16}$/);
    expect(phashOfGrey(lit)).toBe(phashOfGrey(ramp));
    expect(hammingHex("ffffffff00000000", "0000000000000000")).toBe(32);
    expect(hammingHex("0123456789abcdef", "fedcba9876543210")).toBe(
      hammingHex("fedcba9876543210", "0123456789abcdef"),
    );
  });
});

describe("near-frames check", () => {
  it("live footage of a moving pen is not flagged", () => {
    expect(near(input(times.map((t, i) => sighting(t, sha(`a${i}`), livePh[i]))))).toEqual([]);
  });
  it.each(Object.keys(EDITS))(
    "footage of days 1–6 replayed %s on days 8–13 is flagged and makes the census unusable",
    async (edit) => {
      const day = 24 / EVERY;
      const rows: QRow[] = [];
      for (const [i, t] of times.entries()) {
        const src = i - 7 * day;
        const replayed = t >= T0 + 8 * 24 * H && t < T0 + 13 * 24 * H;
        const ph = replayed ? await framePhash(await EDITS[edit]!(live[src]!)) : livePh[i];
        rows.push(sighting(t, sha(`${replayed ? "c" : "a"}${i}`), ph));
      }
      const f = near(input(rows));
      expect(f.map((x) => [x.severity, x.subject, x.unusable])).toEqual([["critical", "census", true]]);
      expect(f[0]!.message).toMatch(/near-copies of frames about 168 h older/);
      expect(f[0]!.cites.reduce((n, c) => n + c.count, 0)).toBeGreaterThanOrEqual(2 * 10);
    },
  );
  it("a still pen repeating itself is not judged; frames without a perceptual hash (older agents) neither", async () => {
    const still = await Promise.all(
      times.map(async (_, i) =>
        framePhash(
          await EDITS["brightened 5%"]!(
            i % 2
              ? live[0]!
              : await sharp(live[0]!)
                  .jpeg({ quality: 60 + (i % 30) })
                  .toBuffer(),
          ),
        ),
      ),
    );
    expect(near(input(times.map((t, i) => sighting(t, sha(`s${i}`), still[i]))))).toEqual([]);
    expect(near(input(times.map((t, i) => sighting(t, sha(`o${i}`), undefined))))).toEqual([]);
  });
});
