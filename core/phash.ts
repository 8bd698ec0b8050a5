/**
 * A 64-bit perceptual hash (pHash) of a picture and the Hamming distance between two. The camera
 * path hashes each frame (drivers/camera/phash.ts, from sharp's 32×32 greyscale), the cloud compares
 * hashes: a re-encoded, brightened or slightly shifted copy of a frame lies a few bits from the
 * original, where a different scene lies about half the bits away. Pure arithmetic, no image library.
 */

const N = 32;
const K = 8;
/** cos((2x+1)uπ / 2N) for u < K, x < N: the only DCT coefficients pHash keeps. */
const COS = Array.from({ length: K }, (_, u) =>
  Float64Array.from({ length: N }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))),
);

/**
 * pHash of a 32×32 greyscale image (row-major, 1024 bytes): the 8×8 lowest frequencies of its DCT,
 * one bit each for "above the median" (the DC term, i.e. brightness, excluded from the median), as
 * 16 hex digits.
 */
export function phashOfGrey(px: Uint8Array): string {
  if (px.length !== N * N) throw new RangeError(`phashOfGrey needs ${N * N} pixels, got ${px.length}`);
  const rows = new Float64Array(N * K);
  for (let y = 0; y < N; y++)
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += px[y * N + x]! * COS[u]![x]!;
      rows[y * K + u] = s;
    }
  const c = new Float64Array(K * K);
  for (let v = 0; v < K; v++)
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * K + u]! * COS[v]![y]!;
      c[v * K + u] = s;
    }
  const ac = [...c.slice(1)].sort((a, b) => a - b);
  const med = (ac[31]! + ac[32]!) / 2;
  let hex = "";
  for (let i = 0; i < 64; i += 4) {
    let nib = 0;
    for (let b = 0; b < 4; b++) nib = (nib << 1) | (c[i + b]! > med ? 1 : 0);
    hex += nib.toString(16);
  }
  return hex;
}

/** Bits in which two 64-bit hashes (16 hex digits) differ. */
export function hammingHex(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

export const PHASH_RE = /^[0-9a-f]{16}$/;
