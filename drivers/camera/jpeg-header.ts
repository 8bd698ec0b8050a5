/**
 * A JPEG's size and EXIF orientation from its header alone, in JS: what the camera path asks of
 * every frame before deciding whether to re-encode it (frame-publisher.ts). sharp's `metadata()`
 * answers the same, but each call is a trip through libuv's pool and libvips (~0.2 ms of CPU a
 * frame here, issue #15); this reads a few dozen bytes. Anything it does not recognise (not a JPEG,
 * a header cut short, a size given later by a DNL marker) returns undefined and the caller asks
 * sharp: this is a fast path, never a second opinion. The pixels are checked anyway by the perceptual
 * hash, which decodes the whole frame.
 */
export interface JpegHeader {
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when there is no EXIF or no orientation tag). */
  orientation: number;
}

/** Start-of-frame markers (baseline, extended, progressive, lossless, hierarchical, arithmetic). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

export function jpegHeader(b: Uint8Array): JpegHeader | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let orientation = 1;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined; // lost sync: not a header this reader understands
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // markers without a length: TEM, RST0–7 (not expected before SOS, harmless)
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // EOI or scan before any frame header
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2 || i + 2 + len > b.length) return undefined;
    const seg = i + 4; // first byte after the length
    if (SOF.has(marker)) {
      if (len < 8) return undefined;
      const height = (b[seg + 1]! << 8) | b[seg + 2]!;
      const width = (b[seg + 3]! << 8) | b[seg + 4]!;
      // height 0: defined later by a DNL marker, which only a decoder finds
      if (width === 0 || height === 0) return undefined;
      return { width, height, orientation };
    }
    if (marker === 0xe1 && orientation === 1) orientation = exifOrientation(b, seg, seg + len - 2) ?? 1;
    i += 2 + len;
  }
  return undefined;
}

/** The orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" segment [from, to), if any. */
function exifOrientation(b: Uint8Array, from: number, to: number): number | undefined {
  if (to - from < 14) return undefined;
  // "Exif\0\0"
  if (b[from] !== 0x45 || b[from + 1] !== 0x78 || b[from + 2] !== 0x69 || b[from + 3] !== 0x66)
    return undefined;
  if (b[from + 4] !== 0 || b[from + 5] !== 0) return undefined;
  const tiff = from + 6;
  const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49;
  const big = b[tiff] === 0x4d && b[tiff + 1] === 0x4d;
  if (!little && !big) return undefined;
  const u16 = (at: number) => (little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!);
  const u32 = (at: number) => (little ? u16(at) + u16(at + 2) * 65536 : u16(at) * 65536 + u16(at + 2));
  if (u16(tiff + 2) !== 42) return undefined;
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > to) return undefined;
  const n = u16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > to) return undefined;
    if (u16(e) !== 0x0112) continue;
    if (u16(e + 2) !== 3) return undefined; // SHORT, as the standard says
    const v = u16(e + 8);
    return v >= 1 && v <= 8 ? v : undefined;
  }
  return undefined;
}
