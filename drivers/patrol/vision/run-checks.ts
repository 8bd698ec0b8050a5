import type { CameraCheck, Region } from "../plan.ts";
import type { Rgb } from "./image.ts";
import { readQrLabel } from "./label.ts";
import { lampState } from "./lamp.ts";
import { readSevenSegment } from "./seven-segment.ts";
import { switchDirection } from "./switch-position.ts";

/** One check's outcome, as the `inspection` record carries it (sync/kinds.ts). */
export interface CheckResult {
  id: string;
  type: "limit" | "lamp" | "switch" | "meter" | "label";
  expected: string;
  seen: string;
  ok: boolean | null;
  skipped?: string;
  frameSha256?: string;
  region?: Region;
}

export interface DecodedFrame {
  rgb: Rgb;
  sha256: string;
}

const OPPOSITE = { up: "down", down: "up", left: "right", right: "left" } as const;

function lampText(colour: string, blinking: boolean) {
  return colour === "off" ? "off" : `${colour}${blinking ? " blinking" : " steady"}`;
}

function range(e: { min?: number; max?: number }) {
  return e.min !== undefined && e.max !== undefined
    ? `${e.min}..${e.max}`
    : e.min !== undefined
      ? `>= ${e.min}`
      : e.max !== undefined
        ? `<= ${e.max}`
        : "any";
}

/** Runs one camera check on a burst (the first frame for everything but a lamp's blink). */
export function runCheck(c: CameraCheck, frames: DecodedFrame[]): CheckResult {
  const base = { id: c.id, type: c.type, region: c.region as Region };
  const expected =
    c.type === "lamp"
      ? lampText(c.expect.colour, c.expect.blinking)
      : c.type === "switch"
        ? c.expect
        : c.type === "meter"
          ? range(c.expect)
          : c.expect;
  const first = frames[0];
  if (!first) return { ...base, expected, seen: "", ok: null, skipped: "no camera frame" };
  const at = { frameSha256: first.sha256 };
  try {
    switch (c.type) {
      case "lamp": {
        const s = lampState(
          frames.map((f) => f.rgb),
          c.region as Region,
        );
        const blinkUnknowable = frames.length < 2 && c.expect.blinking;
        if (blinkUnknowable)
          return {
            ...base,
            ...at,
            expected,
            seen: lampText(s.colour, false),
            ok: null,
            skipped: "one frame cannot show a blink",
          };
        const ok = s.colour === c.expect.colour && (s.colour === "off" || s.blinking === c.expect.blinking);
        return { ...base, ...at, expected, seen: lampText(s.colour, s.blinking), ok };
      }
      case "switch": {
        const d = switchDirection(first.rgb, c.region as Region);
        if (!d)
          return {
            ...base,
            ...at,
            expected,
            seen: "no lever seen",
            ok: null,
            skipped: "no lever in the region",
          };
        const state = d === c.onIs ? "on" : d === OPPOSITE[c.onIs] ? "off" : `lever ${d}`;
        return { ...base, ...at, expected, seen: state, ok: state === c.expect };
      }
      case "meter": {
        const m = readSevenSegment(first.rgb, c.region as Region, c.digits, c.decimals);
        if (m.value === null)
          return {
            ...base,
            ...at,
            expected,
            seen: `unreadable "${m.text}"`,
            ok: null,
            skipped: "display unreadable",
          };
        const ok =
          (c.expect.min === undefined || m.value >= c.expect.min) &&
          (c.expect.max === undefined || m.value <= c.expect.max);
        return { ...base, ...at, expected, seen: String(m.value), ok };
      }
      case "label": {
        const text = readQrLabel(first.rgb, c.region as Region);
        if (text === null)
          return {
            ...base,
            ...at,
            expected,
            seen: "no QR code read",
            ok: null,
            skipped: "no QR code decoded",
          };
        return { ...base, ...at, expected, seen: text.slice(0, 256), ok: text === c.expect };
      }
    }
  } catch (e) {
    return { ...base, ...at, expected, seen: "", ok: null, skipped: (e as Error).message.slice(0, 256) };
  }
}

/** Checks the robot's environment readings against the checkpoint's limits. */
export function limitChecks(
  limits: Record<string, { min?: number; max?: number } | { equals: boolean }>,
  readings: Record<string, number | boolean>,
): CheckResult[] {
  return Object.entries(limits).map(([name, lim]) => {
    const v = readings[name];
    const expected = "equals" in lim ? String(lim.equals) : range(lim);
    if (v === undefined)
      return { id: name, type: "limit", expected, seen: "", ok: null, skipped: "no reading from the robot" };
    const ok =
      "equals" in lim
        ? v === lim.equals
        : typeof v === "number" &&
          (lim.min === undefined || v >= lim.min) &&
          (lim.max === undefined || v <= lim.max);
    return { id: name, type: "limit", expected, seen: String(v), ok };
  });
}
