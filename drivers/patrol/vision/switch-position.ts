import type { Region } from "../plan.ts";
import { checkRegion, lum, type Rgb } from "./image.ts";

export type Direction = "up" | "down" | "left" | "right";

/**
 * Where a breaker's lever points: the lever is the minority of the region's pixels that differ most
 * from its median (a light handle on a dark body, or the reverse); the offset of their centroid from
 * the region's centre gives the direction. Null when nothing stands out (no lever in view).
 */
export function switchDirection(img: Rgb, r: Region): Direction | null {
  checkRegion(img, r, "switch");
  const [l, t, w, h] = r;
  const vals: number[] = [];
  for (let y = t; y < t + h; y++) for (let x = l; x < l + w; x++) vals.push(lum(img, x, y));
  const sorted = [...vals].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const range = sorted[sorted.length - 1]! - sorted[0]!;
  if (range < 0.2) return null;
  let n = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < vals.length; i++) {
    if (Math.abs(vals[i]! - median) < range * 0.4) continue;
    n++;
    cx += i % w;
    cy += Math.floor(i / w);
  }
  if (n < 0.02 * vals.length) return null;
  const dx = cx / n - (w - 1) / 2;
  const dy = cy / n - (h - 1) / 2;
  if (Math.abs(dx / w) < 0.08 && Math.abs(dy / h) < 0.08) return null;
  return Math.abs(dy / h) >= Math.abs(dx / w) ? (dy < 0 ? "up" : "down") : dx < 0 ? "left" : "right";
}
