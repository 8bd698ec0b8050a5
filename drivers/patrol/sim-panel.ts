import QRCode from "qrcode";
import sharp from "sharp";
import type { CameraCheck, LampColour, Region } from "./plan.ts";
import { SEGMENTS } from "./vision/seven-segment.ts";

/**
 * A SIMULATED camera view of an equipment panel (no camera here): indicator lamps, a breaker lever,
 * a seven-segment meter and a QR rack label, drawn as SVG and encoded as JPEG by sharp. The demo's
 * robot and the golden tests look at these frames; real frames come from the `camera` driver.
 */
export interface PanelSpec {
  width: number;
  height: number;
  lamps?: Array<{ region: Region; colour: LampColour; blinking?: boolean }>;
  switches?: Array<{ region: Region; lever: "up" | "down" | "left" | "right" }>;
  meters?: Array<{ region: Region; text: string; colour?: string }>;
  labels?: Array<{ region: Region; text: string }>;
}

const LAMP_FILL: Record<LampColour, string> = {
  off: "#3a3a3a",
  green: "#22e05a",
  amber: "#ffb020",
  red: "#ff2a1a",
};

function lampSvg(region: Region, colour: LampColour, lit: boolean) {
  const [l, t, w, h] = region;
  const r = Math.min(w, h) * 0.4;
  return `<circle cx="${l + w / 2}" cy="${t + h / 2}" r="${r}" fill="${lit ? LAMP_FILL[colour] : LAMP_FILL.off}" stroke="#111" stroke-width="2"/>`;
}

function switchSvg(region: Region, lever: "up" | "down" | "left" | "right") {
  const [l, t, w, h] = region;
  const vertical = lever === "up" || lever === "down";
  const lw = vertical ? w * 0.5 : w * 0.45;
  const lh = vertical ? h * 0.45 : h * 0.5;
  const lx = lever === "left" ? l + w * 0.05 : lever === "right" ? l + w * 0.5 : l + (w - lw) / 2;
  const ly = lever === "up" ? t + h * 0.05 : lever === "down" ? t + h * 0.5 : t + (h - lh) / 2;
  return `<rect x="${l}" y="${t}" width="${w}" height="${h}" fill="#1b1b1e"/><rect x="${lx}" y="${ly}" width="${lw}" height="${lh}" fill="#e8e8e8"/>`;
}

/** Segments lit for each character, bit 0 = a … bit 6 = g (the reader's layout). */
const DIGIT_BITS: Record<string, number> = {
  "0": 0b0111111,
  "1": 0b0000110,
  "2": 0b1011011,
  "3": 0b1001111,
  "4": 0b1100110,
  "5": 0b1101101,
  "6": 0b1111101,
  "7": 0b0000111,
  "8": 0b1111111,
  "9": 0b1101111,
  "-": 0b1000000,
  " ": 0,
};

function meterSvg(region: Region, text: string, colour = "#ff3b2f") {
  const [l, t, w, h] = region;
  const cw = w / text.length;
  let s = `<rect x="${l}" y="${t}" width="${w}" height="${h}" fill="#080808"/>`;
  [...text].forEach((ch, d) => {
    const bits = DIGIT_BITS[ch] ?? 0;
    SEGMENTS.forEach(([fx, fy], i) => {
      if (!(bits & (1 << i))) return;
      const horizontal = i === 0 || i === 3 || i === 6;
      const sw = horizontal ? cw * 0.5 : cw * 0.12;
      const sh = horizontal ? h * 0.09 : h * 0.32;
      const cx = l + d * cw + fx * cw;
      const cy = t + fy * h;
      s += `<rect x="${cx - sw / 2}" y="${cy - sh / 2}" width="${sw}" height="${sh}" fill="${colour}"/>`;
    });
  });
  return s;
}

function labelSvg(region: Region, text: string) {
  const [l, t, w, h] = region;
  const q = QRCode.create(text, { errorCorrectionLevel: "M" });
  const n = q.modules.size;
  const quiet = 2;
  const m = Math.min(w, h) / (n + 2 * quiet);
  let s = `<rect x="${l}" y="${t}" width="${w}" height="${h}" fill="#ffffff"/>`;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++)
      if (q.modules.get(x, y))
        s += `<rect x="${l + (x + quiet) * m}" y="${t + (y + quiet) * m}" width="${m + 0.3}" height="${m + 0.3}" fill="#000"/>`;
  return s;
}

/** Frame `i` of a burst (blinking lamps are lit on even frames) as an SVG document. */
export function panelSvg(p: PanelSpec, i = 0): string {
  const parts = [`<rect width="100%" height="100%" fill="#4a4e55"/>`];
  for (const x of p.lamps ?? [])
    parts.push(lampSvg(x.region, x.colour, x.colour !== "off" && (!x.blinking || i % 2 === 0)));
  for (const x of p.switches ?? []) parts.push(switchSvg(x.region, x.lever));
  for (const x of p.meters ?? []) parts.push(meterSvg(x.region, x.text, x.colour));
  for (const x of p.labels ?? []) parts.push(labelSvg(x.region, x.text));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${p.width}" height="${p.height}">${parts.join("")}</svg>`;
}

export async function renderPanel(p: PanelSpec, i = 0, format: "jpeg" | "png" = "jpeg"): Promise<Buffer> {
  const img = sharp(Buffer.from(panelSvg(p, i)));
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

/** The demo's rack panel: where each thing sits, and the checks a plan runs on it. */
export const RACK_PANEL = {
  width: 320,
  height: 240,
  power: [20, 20, 40, 40] as Region,
  fault: [80, 20, 40, 40] as Region,
  breaker: [150, 15, 40, 80] as Region,
  meter: [16, 130, 150, 70] as Region,
  label: [196, 104, 120, 120] as Region,
};

/** The plan's camera checks for a rack panel of the demo layout. */
export function rackChecks(rack: string, loadMaxKw: number): CameraCheck[] {
  const P = RACK_PANEL;
  return [
    { id: "power-lamp", type: "lamp", region: P.power, expect: { colour: "green", blinking: false } },
    { id: "fault-lamp", type: "lamp", region: P.fault, expect: { colour: "off", blinking: false } },
    { id: "breaker", type: "switch", region: P.breaker, onIs: "up", expect: "on" },
    { id: "load-kw", type: "meter", region: P.meter, digits: 3, decimals: 1, expect: { max: loadMaxKw } },
    { id: "rack-label", type: "label", region: P.label, expect: rack },
  ];
}

/** A rack panel as the camera sees it: healthy unless a fault is planted. */
export function rackPanel(
  rack: string,
  o: {
    faultLamp?: "red" | "amber";
    faultBlinking?: boolean;
    breaker?: "on" | "off";
    loadKw?: number;
    label?: string;
  } = {},
): PanelSpec {
  const P = RACK_PANEL;
  const load = Math.round((o.loadKw ?? 4.2) * 10);
  return {
    width: P.width,
    height: P.height,
    lamps: [
      { region: P.power, colour: "green" },
      { region: P.fault, colour: o.faultLamp ?? "off", blinking: o.faultBlinking },
    ],
    switches: [{ region: P.breaker, lever: o.breaker === "off" ? "down" : "up" }],
    meters: [{ region: P.meter, text: String(load).padStart(3, " ") }],
    labels: [{ region: P.label, text: o.label ?? rack }],
  };
}
