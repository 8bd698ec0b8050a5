import QRCode from "qrcode";
import type { Canvas } from "./render.ts";

/** The text an ear tag carries: barnlink reads `pig:<id>` and ignores other QR codes. */
export { earTagText, pigFromTag } from "../pipeline/tag-text.ts";

/** Size in pixels of a drawn QR code including its 4-module quiet zone. */
export function qrPixels(text: string, moduleSize: number): number {
  return (QRCode.create(text, { errorCorrectionLevel: "M" }).modules.size + 8) * moduleSize;
}

/** Draws an ear-tag QR code (black on white, with quiet zone) with its top-left corner at (x, y). */
export function drawQr(c: Canvas, text: string, x: number, y: number, moduleSize: number): void {
  const m = QRCode.create(text, { errorCorrectionLevel: "M" }).modules;
  const n = m.size + 8;
  for (let my = 0; my < n; my++) {
    for (let mx = 0; mx < n; mx++) {
      const qx = mx - 4;
      const qy = my - 4;
      const dark = qx >= 0 && qy >= 0 && qx < m.size && qy < m.size && m.get(qy, qx) === 1;
      const v = dark ? 15 : 240;
      for (let dy = 0; dy < moduleSize; dy++) {
        const py = y + my * moduleSize + dy;
        if (py < 0 || py >= c.height) continue;
        for (let dx = 0; dx < moduleSize; dx++) {
          const px = x + mx * moduleSize + dx;
          if (px < 0 || px >= c.width) continue;
          const o = (py * c.width + px) * 3;
          c.data[o] = v;
          c.data[o + 1] = v;
          c.data[o + 2] = v;
        }
      }
    }
  }
}
