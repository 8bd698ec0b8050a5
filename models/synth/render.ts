import { between, gauss, type Rng } from "./rng.ts";
import type { PigTraits, Rgb } from "./traits.ts";

/** An RGB canvas (3 bytes a pixel, row-major) that the renderer draws into. */
export interface Canvas {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** How one picture of a pig differs from another: pose, light, blur and what is in the way. */
export interface Pose {
  angle: number;
  scale: number;
  tx: number;
  ty: number;
  yaw: number;
  gain: number;
  gx: number;
  gy: number;
  noise: number;
  blur: number;
  /** A feeder rail across the face: [centre y in -1..1, half height], or null. */
  occlusion: [number, number] | null;
  /** 0 for a weaner, 1 for a finisher: the snout lengthens and the head widens as pigs grow. */
  growth: number;
}

export function randomPose(r: Rng, growth = 0, hard = 1): Pose {
  return {
    angle: between(r, -0.22, 0.22) * hard,
    scale: between(r, 0.88, 1.08),
    tx: between(r, -0.07, 0.07) * hard,
    ty: between(r, -0.07, 0.07) * hard,
    yaw: between(r, -0.25, 0.25) * hard,
    gain: between(r, 0.7, 1.25),
    gx: between(r, -0.25, 0.25),
    gy: between(r, -0.25, 0.25),
    noise: between(r, 2, 9),
    blur: r() < 0.4 ? between(r, 0.3, 1.4) * hard : 0,
    occlusion: r() < 0.2 * hard ? [between(r, -0.8, 0.8), between(r, 0.04, 0.1)] : null,
    growth,
  };
}

export function newCanvas(width: number, height: number): Canvas {
  return { width, height, data: new Uint8ClampedArray(width * height * 3) };
}

/** Fills a box with a barn-like background: a muddy gradient and noise. */
export function fillBackground(c: Canvas, r: Rng): void {
  const base: Rgb = [between(r, 70, 140), between(r, 60, 120), between(r, 45, 95)];
  for (let y = 0; y < c.height; y++) {
    const shade = 0.8 + (0.4 * y) / c.height;
    for (let x = 0; x < c.width; x++) {
      const o = (y * c.width + x) * 3;
      const n = gauss(r) * 6;
      c.data[o] = base[0] * shade + n;
      c.data[o + 1] = base[1] * shade + n;
      c.data[o + 2] = base[2] * shade + n;
    }
  }
}

function inEllipse(u: number, v: number, cx: number, cy: number, rx: number, ry: number, a: number): number {
  const dx = u - cx;
  const dy = v - cy;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const xr = (dx * c + dy * s) / rx;
  const yr = (-dx * s + dy * c) / ry;
  return xr * xr + yr * yr;
}

/** The colour of the face at face coordinates (u, v), or null where the face is absent. */
function shadeAt(t: PigTraits, p: Pose, u: number, v: number): Rgb | null {
  const g = p.growth;
  const shift = p.yaw * 0.35;
  const hu = u / (1 - Math.abs(p.yaw) * 0.3);
  const headRx = t.headRx * (1 + 0.08 * g);
  const head = inEllipse(hu, v, 0, 0.05, headRx, t.headRy, 0);
  const e = t.ear;
  if (head > 1) {
    for (const side of [-1, 1]) {
      if (inEllipse(hu, v, side * e.x, e.y, e.rx, e.ry, side * e.angle) <= 1) {
        return [t.skin[0] * 0.85, t.skin[1] * 0.8, t.skin[2] * 0.8];
      }
    }
    return null;
  }
  let col: Rgb = t.skin;
  for (const s of t.spots) {
    if (inEllipse(hu - shift * 0.5, v, s.u * headRx, s.v * t.headRy + 0.05, s.rx, s.ry, s.angle) <= 1)
      col = s.color;
  }
  const sn = t.snout;
  const snoutRy = sn.ry * (1 + 0.2 * g);
  const snoutY = sn.y + 0.06 * g;
  const fu = hu - shift;
  if (inEllipse(fu, v, 0, snoutY, sn.rx, snoutRy, 0) <= 1) {
    col = sn.color;
    for (const side of [-1, 1]) {
      if (inEllipse(fu, v, side * sn.rx * 0.4, snoutY, sn.rx * 0.18, snoutRy * 0.35, 0) <= 1)
        col = [40, 25, 25];
    }
  }
  for (const side of [-1, 1]) {
    const d = inEllipse(fu, v, side * t.eye.dx, t.eye.y, t.eye.r, t.eye.r * 0.8, 0);
    if (d <= 1) col = d < 0.3 ? [230, 230, 230] : [20, 15, 15];
  }
  const shade = 1 - 0.3 * head;
  return [col[0] * shade, col[1] * shade, col[2] * shade];
}

/** Draws one pig face into box (x, y, w, h) of the canvas, lit, posed and noised. */
export function drawFace(c: Canvas, box: [number, number, number, number], t: PigTraits, p: Pose, r: Rng) {
  const [bx, by, bw, bh] = box;
  const cos = Math.cos(-p.angle);
  const sin = Math.sin(-p.angle);
  for (let py = Math.max(0, by); py < Math.min(c.height, by + bh); py++) {
    for (let px = Math.max(0, bx); px < Math.min(c.width, bx + bw); px++) {
      const X = ((px - bx + 0.5) / bw) * 2 - 1;
      const Y = ((py - by + 0.5) / bh) * 2 - 1;
      const qx = X - p.tx;
      const qy = Y - p.ty;
      const u = (qx * cos - qy * sin) / p.scale;
      const v = (qx * sin + qy * cos) / p.scale;
      const o = (py * c.width + px) * 3;
      let col = shadeAt(t, p, u, v);
      if (p.occlusion && Math.abs(Y - p.occlusion[0]) < p.occlusion[1]) col = [150, 150, 155];
      const light = p.gain * (1 + p.gx * X + p.gy * Y);
      const n = gauss(r) * p.noise;
      const base = col ?? [c.data[o]!, c.data[o + 1]!, c.data[o + 2]!];
      c.data[o] = base[0] * light + n;
      c.data[o + 1] = base[1] * light + n;
      c.data[o + 2] = base[2] * light + n;
    }
  }
}
