import sharp from "sharp";
import { z } from "zod";
import { ident } from "../../core/zod-helpers.ts";
import { ERR_PATROL_PLAN } from "./errors.ts";
import { type CameraCheck, cameraCheck, type Region, region } from "./plan.ts";
import { checkRegion, decodeRgb } from "./vision/image.ts";
import { readQrLabel } from "./vision/label.ts";
import { lampColour } from "./vision/lamp.ts";
import { readSevenSegment } from "./vision/seven-segment.ts";
import { switchDirection } from "./vision/switch-position.ts";

/** What the installer writes: each check's region (from the snapshot), `expect` optional. */
export const calibrationInput = z.strictObject({
  checks: z
    .array(
      z.strictObject({
        id: ident(),
        type: z.enum(["lamp", "switch", "meter", "label"]),
        region,
        onIs: z.enum(["up", "down", "left", "right"]).optional(),
        digits: z.number().int().min(1).max(8).optional(),
        decimals: z.number().int().min(0).max(7).optional(),
        expect: z.unknown().optional(),
      }),
    )
    .min(1),
});
type Input = z.output<typeof calibrationInput>["checks"][number];

/**
 * Calibration from a snapshot of a healthy panel: checks that each region lies in the frame, reads
 * it, and takes what it sees as the expectation (lamp colour, breaker state, the QR label's text);
 * a meter keeps the range the installer gave (a reading is not a limit) and reports its reading.
 * Returns the checks ready for the plan and the snapshot with every region drawn and named.
 */
export async function calibrate(
  snapshot: Buffer,
  input: Input[],
): Promise<{ checks: CameraCheck[]; seen: Array<{ id: string; seen: string }>; annotated: Buffer }> {
  const img = await decodeRgb(snapshot);
  const seen: Array<{ id: string; seen: string }> = [];
  const checks = input.map((c) => {
    const r = c.region as Region;
    checkRegion(img, r, `check ${c.id}`);
    let expect: unknown = c.expect;
    let s: string;
    if (c.type === "lamp") {
      const colour = lampColour(img, r);
      if (colour === "unknown")
        throw ERR_PATROL_PLAN(
          `check ${c.id}: the lamp's colour is not off/green/amber/red; aim the region at the lamp`,
        );
      s = colour;
      expect ??= { colour, blinking: false };
    } else if (c.type === "switch") {
      const d = switchDirection(img, r);
      if (!d)
        throw ERR_PATROL_PLAN(
          `check ${c.id}: no lever stands out in the region; draw it around the breaker's handle and body`,
        );
      const onIs = c.onIs ?? "up";
      s = `lever ${d}`;
      expect ??= d === onIs ? "on" : "off";
    } else if (c.type === "meter") {
      const m = readSevenSegment(img, r, c.digits ?? 1, c.decimals ?? 0);
      if (m.value === null)
        throw ERR_PATROL_PLAN(
          `check ${c.id}: the display reads "${m.text}"; draw the region tight around the digits and give their count`,
        );
      s = String(m.value);
      expect ??= {};
    } else {
      const text = readQrLabel(img, r);
      if (text === null) throw ERR_PATROL_PLAN(`check ${c.id}: no QR code decodes in the region`);
      s = text;
      expect ??= text;
    }
    seen.push({ id: c.id, seen: s });
    const { expect: _given, ...rest } = c;
    const parsed = cameraCheck.safeParse({ ...rest, expect });
    if (!parsed.success)
      throw ERR_PATROL_PLAN(
        `check ${c.id}: ${parsed.error.issues[0]!.path.join(".")}: ${parsed.error.issues[0]!.message}`,
      );
    return parsed.data;
  });
  const boxes = checks
    .map((c, i) => {
      const [l, t, w, h] = c.region as Region;
      return `<rect x="${l}" y="${t}" width="${w}" height="${h}" fill="none" stroke="#00e5ff" stroke-width="2"/><text x="${l + 2}" y="${Math.max(10, t - 3)}" font-family="sans-serif" font-size="11" fill="#00e5ff">${c.id}: ${escapeXml(seen[i]!.seen)}</text>`;
    })
    .join("");
  const overlay = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${img.width}" height="${img.height}">${boxes}</svg>`,
  );
  const annotated = await sharp(snapshot)
    .rotate()
    .composite([{ input: overlay }])
    .png()
    .toBuffer();
  return { checks, seen, annotated };
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
