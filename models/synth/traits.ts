import { between, mix, type Rng, rng } from "./rng.ts";

export type Rgb = [number, number, number];

export interface Spot {
  u: number;
  v: number;
  rx: number;
  ry: number;
  angle: number;
  color: Rgb;
}

/** What makes one synthetic pig look like itself: head shape, ears, eyes, snout and markings. */
export interface PigTraits {
  id: string;
  skin: Rgb;
  headRx: number;
  headRy: number;
  ear: { x: number; y: number; rx: number; ry: number; angle: number };
  eye: { dx: number; y: number; r: number };
  snout: { y: number; rx: number; ry: number; color: Rgb };
  spots: Spot[];
}

const SKINS: Rgb[] = [
  [236, 186, 176],
  [222, 160, 150],
  [205, 150, 120],
  [150, 95, 70],
  [70, 55, 52],
  [240, 210, 195],
];

function jitter(r: Rng, c: Rgb, by: number): Rgb {
  return [c[0] + between(r, -by, by), c[1] + between(r, -by, by), c[2] + between(r, -by, by)];
}

/** Deterministic traits for pig number `index` of a herd seeded by `seed`. */
export function pigTraits(
  seed: number,
  index: number,
  id = `pig-${String(index + 1).padStart(4, "0")}`,
): PigTraits {
  const r = rng(mix(seed, index));
  const skin = jitter(r, SKINS[Math.floor(r() * SKINS.length)]!, 18);
  const dark = skin[0] + skin[1] + skin[2] < 300;
  const spots: Spot[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const base: Rgb = dark ? [235, 225, 215] : r() < 0.7 ? [50, 40, 38] : [120, 80, 60];
    spots.push({
      u: between(r, -0.75, 0.75),
      v: between(r, -0.8, 0.35),
      rx: between(r, 0.12, 0.38),
      ry: between(r, 0.1, 0.32),
      angle: between(r, 0, Math.PI),
      color: jitter(r, base, 15),
    });
  }
  return {
    id,
    skin,
    headRx: between(r, 0.5, 0.66),
    headRy: between(r, 0.52, 0.68),
    ear: {
      x: between(r, 0.3, 0.55),
      y: between(r, -0.62, -0.42),
      rx: between(r, 0.12, 0.24),
      ry: between(r, 0.16, 0.3),
      angle: between(r, -0.9, 0.2),
    },
    eye: { dx: between(r, 0.18, 0.32), y: between(r, -0.2, 0.0), r: between(r, 0.035, 0.06) },
    snout: {
      y: between(r, 0.22, 0.38),
      rx: between(r, 0.18, 0.3),
      ry: between(r, 0.11, 0.18),
      color: jitter(r, [skin[0] * 1.05 + 10, skin[1] * 0.95, skin[2] * 0.95 + 5], 12),
    },
    spots,
  };
}
