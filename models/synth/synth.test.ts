import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsQR from "jsqr";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { tmpPath } from "../test-helpers.ts";
import { generateDataset } from "./dataset.ts";
import { pigFromTag } from "./qr.ts";

const tmp = () => tmpPath("synth");

describe("synthetic pig faces", () => {
  it("writes DIR/<pigId>/*.jpg deterministically from a seed", async () => {
    const a = tmp();
    const b = tmp();
    const ids = await generateDataset({ dir: a, pigs: 3, perPig: 2, seed: 5 });
    await generateDataset({ dir: b, pigs: 3, perPig: 2, seed: 5 });
    expect(readdirSync(a).sort()).toEqual(ids);
    expect(readdirSync(join(a, ids[0]!))).toEqual(["000.jpg", "001.jpg"]);
    expect(readFileSync(join(a, ids[1]!, "001.jpg")).equals(readFileSync(join(b, ids[1]!, "001.jpg")))).toBe(
      true,
    );
    expect(readFileSync(join(a, ids[0]!, "000.jpg")).equals(readFileSync(join(a, ids[1]!, "000.jpg")))).toBe(
      false,
    );
  });

  it("draws a readable ear-tag QR code when asked", async () => {
    const d = tmp();
    const [id] = await generateDataset({ dir: d, pigs: 1, perPig: 1, seed: 2, size: 160, qr: true });
    const { data, info } = await sharp(join(d, id!, "000.jpg"))
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const code = jsQR(new Uint8ClampedArray(data), info.width, info.height);
    expect(pigFromTag(code?.data ?? "")).toBe(id);
  });
});
