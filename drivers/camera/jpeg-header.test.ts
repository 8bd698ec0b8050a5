import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { renderPen } from "../sim-camera/synthetic.ts";
import { jpegHeader } from "./jpeg-header.ts";

/** What sharp's metadata says of the same bytes (the reader must agree with it wherever it answers). */
async function sharpHeader(jpeg: Buffer) {
  const m = await sharp(jpeg).metadata();
  return { width: m.width, height: m.height, orientation: m.orientation ?? 1 };
}

describe("jpegHeader", () => {
  it("reads size and EXIF orientation as sharp does: baseline, progressive, 4:4:4, every orientation", async () => {
    const pen = await renderPen(3, 320, 240, 2);
    const variants: Buffer[] = [
      pen,
      await sharp(pen).resize(161, 97, { fit: "fill" }).jpeg({ progressive: true }).toBuffer(),
      await sharp(pen).jpeg({ chromaSubsampling: "4:4:4", quality: 95 }).toBuffer(),
      await sharp(pen).jpeg({ mozjpeg: true }).toBuffer(),
    ];
    for (let o = 1; o <= 8; o++)
      variants.push(await sharp(pen).withMetadata({ orientation: o }).jpeg().toBuffer());
    for (const v of variants) expect(jpegHeader(v)).toEqual(await sharpHeader(v));
    // an orientation the camera wrote, not 1: the publisher must still rotate
    expect(jpegHeader(variants.at(-3)!)?.orientation).toBe(6);
  });

  it("reads a big-endian (Motorola) EXIF block too", () => {
    // SOI, APP1 "Exif\0\0" MM 002A, IFD0 at 8: one entry 0112 SHORT 1 value 8, SOF0 100×50
    const exif = [0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1];
    const entry = [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0];
    const app1 = [...exif, ...entry];
    const sof = [0xff, 0xc0, 0, 11, 8, 0, 50, 0, 100, 1, 1, 0x11, 0];
    const b = Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0, app1.length + 2, ...app1, ...sof]);
    expect(jpegHeader(b)).toEqual({ width: 100, height: 50, orientation: 8 });
  });

  it("answers undefined (the caller asks sharp) for anything else, and never throws", async () => {
    const pen = await renderPen(4, 64, 48, 1);
    const png = await sharp(pen).png().toBuffer();
    expect(jpegHeader(png)).toBeUndefined();
    expect(jpegHeader(Buffer.from([0xff, 0xd8, 1, 2, 3, 4]))).toBeUndefined();
    // a height of 0 (given later by a DNL marker): only a decoder knows
    expect(
      jpegHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 0, 0, 100, 1, 1, 0x11, 0])),
    ).toBeUndefined();
    // every prefix of a real header: undefined until the frame header is whole, then the answer
    const whole = jpegHeader(pen)!;
    let firstWhole = -1;
    for (let n = 0; n <= 700 && n <= pen.length; n++) {
      const h = jpegHeader(pen.subarray(0, n));
      if (h && firstWhole < 0) firstWhole = n;
      if (firstWhole >= 0) expect(h).toEqual(whole);
      else expect(h).toBeUndefined();
    }
    expect(firstWhole).toBeGreaterThan(0);
    // garbage after a JPEG start: no throw, whatever it says
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let k = 0; k < 2000; k++) {
      const b = Uint8Array.from({ length: 2 + (k % 64) }, (_, i) =>
        i === 0 ? 0xff : i === 1 ? 0xd8 : rnd(),
      );
      expect(() => jpegHeader(b)).not.toThrow();
    }
  });
});
