import type { LampColour, Region } from "../plan.ts";
import { checkRegion, hsv, type Rgb } from "./image.ts";

export type LampSeen = LampColour | "unknown";

/** Share of a region's pixels that must be lit (bright and saturated) for the lamp to count as on. */
const LIT_SHARE = 0.08;

/**
 * The colour of an indicator lamp in one frame: `off` unless enough of the region is bright and
 * saturated; then the lit pixels' mean hue (circular mean) names it. Hue bands: red < 20° or ≥ 330°,
 * amber 20–70°, green 75–170°; anything else (a blue or white lamp) is `unknown`.
 */
export function lampColour(img: Rgb, r: Region): LampSeen {
  checkRegion(img, r, "lamp");
  const [l, t, w, h] = r;
  let lit = 0;
  let sx = 0;
  let sy = 0;
  for (let y = t; y < t + h; y++)
    for (let x = l; x < l + w; x++) {
      const p = hsv(img, x, y);
      if (p.v < 0.5 || p.s < 0.45) continue;
      lit++;
      sx += Math.cos((p.h * Math.PI) / 180);
      sy += Math.sin((p.h * Math.PI) / 180);
    }
  if (lit < LIT_SHARE * w * h) return "off";
  const hue = ((Math.atan2(sy, sx) * 180) / Math.PI + 360) % 360;
  if (hue < 20 || hue >= 330) return "red";
  if (hue < 70) return "amber";
  if (hue >= 75 && hue < 170) return "green";
  return "unknown";
}

/**
 * A lamp's state over a burst of frames: steady when every frame shows the same colour, blinking
 * when it is lit in some frames and off in others (one colour). A burst must span at least one
 * on/off period of the blink (the plan's `burst` × the camera's frame interval) to see it.
 */
export function lampState(
  frames: Rgb[],
  r: Region,
): { colour: LampSeen; blinking: boolean; seen: LampSeen[] } {
  const seen = frames.map((f) => lampColour(f, r));
  const lit = [...new Set(seen.filter((s) => s !== "off"))];
  if (lit.length === 0) return { colour: "off", blinking: false, seen };
  if (lit.length > 1) return { colour: "unknown", blinking: false, seen };
  return { colour: lit[0]!, blinking: seen.includes("off"), seen };
}
