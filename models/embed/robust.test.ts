import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { enrol } from "../cli.ts";
import { faceJpeg } from "../synth/dataset.ts";
import { pigTraits } from "../synth/traits.ts";
import { tmpPath } from "../test-helpers.ts";
import { loadImageFolder } from "./image-folder.ts";
import { decodeEnrolmentFace, decodeFace } from "./preprocess.ts";

/** A labelled folder of synthetic faces, with one file cut in half (a card pulled mid-copy). */
async function herdWithTruncated(): Promise<{ dir: string; bad: string }> {
  const dir = tmpPath("robust");
  for (const p of ["pig-a", "pig-b"]) {
    mkdirSync(join(dir, p), { recursive: true });
    for (let i = 0; i < 3; i++) {
      const jpeg = await faceJpeg(pigTraits(4, p === "pig-a" ? 0 : 1), i, 1, { size: 128 });
      writeFileSync(join(dir, p, `${i}.jpg`), jpeg);
    }
  }
  const bad = join(dir, "pig-b", "1.jpg");
  const whole = readFileSync(bad);
  writeFileSync(bad, whole.subarray(0, Math.floor(whole.length / 2)));
  return { dir, bad };
}

describe("robust image loading (train, eval, enrol)", () => {
  it("skips a truncated JPEG with its path and BL_FACE_DECODE, and loads the rest", async () => {
    const { dir, bad } = await herdWithTruncated();
    await expect(decodeFace(bad)).rejects.toMatchObject({ code: "BL_FACE_DECODE" });
    const set = await loadImageFolder(dir);
    expect(set.files).toHaveLength(5);
    expect(set.labels).toEqual(["pig-a", "pig-b"]);
    expect(set.skipped).toEqual([expect.objectContaining({ file: bad, code: "BL_FACE_DECODE" })]);
    expect(set.skipped[0]!.message).toContain(bad);
    expect(set.pixels.length).toBe(5 * set.size * set.size * 3);
  });

  it("enrols a folder with a truncated JPEG and a 1×1 JPEG: both skipped and reported, the rest enrolled", async () => {
    const { dir, bad } = await herdWithTruncated();
    const tiny = join(dir, "pig-a", "9.jpg");
    writeFileSync(
      tiny,
      await sharp({ create: { width: 1, height: 1, channels: 3, background: "#886655" } })
        .jpeg()
        .toBuffer(),
    );
    const r = await enrol({ gallery: join(tmpPath("g"), "..", `g-${Date.now()}.db`), data: dir });
    expect(r.pigs).toBe(2);
    expect(r.templates).toBe(5);
    const codes = Object.fromEntries(r.skipped.map((s) => [s.file, s.code]));
    expect(codes).toEqual({ [bad]: "BL_FACE_DECODE", [tiny]: "BL_FACE_QUALITY" });
  });

  it("refuses blank (no detail) and black photos at enrolment", async () => {
    const flat = await sharp({ create: { width: 200, height: 200, channels: 3, background: "#808080" } })
      .jpeg()
      .toBuffer();
    await expect(decodeEnrolmentFace(flat)).rejects.toMatchObject({ code: "BL_FACE_QUALITY" });
    const black = await sharp({ create: { width: 200, height: 200, channels: 3, background: "#000000" } })
      .jpeg()
      .toBuffer();
    await expect(decodeEnrolmentFace(black)).rejects.toMatchObject({ code: "BL_FACE_QUALITY" });
  });

  it("applies the EXIF orientation: a phone photo stored sideways is embedded upright", async () => {
    // upright: bright top half, dark bottom half (with texture so the quality gate passes)
    const w = 96;
    const raw = Buffer.alloc(w * w * 3);
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++)
        raw.fill(
          y < w / 2 ? 200 + ((x * 7) % 40) : 30 + ((x * 5) % 30),
          (y * w + x) * 3,
          (y * w + x + 1) * 3,
        );
    const upright = await sharp(raw, { raw: { width: w, height: w, channels: 3 } })
      .jpeg()
      .toBuffer();
    // stored rotated 90° counter-clockwise with orientation 6 ("rotate 90° clockwise to view")
    const stored = await sharp(await sharp(upright).rotate(270).toBuffer())
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const mean = (px: Uint8Array, size: number, top: boolean) => {
      let s = 0;
      for (let y = top ? 0 : size / 2; y < (top ? size / 2 : size); y++)
        for (let x = 0; x < size; x++) s += px[(y * size + x) * 3]!;
      return s / ((size * size) / 2);
    };
    const a = await decodeFace(stored, 64);
    expect(mean(a, 64, true)).toBeGreaterThan(mean(a, 64, false) + 100);
    const b = await decodeEnrolmentFace(stored, 64);
    expect(mean(b, 64, true)).toBeGreaterThan(mean(b, 64, false) + 100);
  });
});
