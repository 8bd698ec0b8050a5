/** mulberry32: a small seeded PRNG, so every synthetic pig, pose and frame is reproducible. */
export type Rng = () => number;

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two integers into a seed (per pig, per sample). */
export function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const between = (r: Rng, lo: number, hi: number): number => lo + (hi - lo) * r();

/** Approximately normal (sum of uniforms), mean 0, sd 1. */
export function gauss(r: Rng): number {
  return r() + r() + r() + r() + r() + r() - 3;
}
