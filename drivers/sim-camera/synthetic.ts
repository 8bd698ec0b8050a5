import sharp from "sharp";
import type { Grabber } from "../camera/grabbers.ts";
import { sleep } from "../common/backoff.ts";

/**
 * Renders a synthetic pen: a straw-coloured floor, a feeder, and pink pigs that wander so frames
 * differ (each frame its own hash). Not a face dataset: the face pipeline brings its own synthetic
 * faces; this is for the camera path, the gateway page and the demo.
 */
export function renderPen(n: number, width: number, height: number, pigs: number): Promise<Buffer> {
  const shapes: string[] = [];
  for (let i = 0; i < pigs; i++) {
    const x = ((Math.sin(n / 7 + i * 2.1) + 1) / 2) * (width - 80) + 40;
    const y = ((Math.cos(n / 9 + i * 1.3) + 1) / 2) * (height - 90) + 55;
    shapes.push(
      `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="34" ry="20" fill="#f4b6c2" stroke="#a0606e" stroke-width="2"/>`,
    );
    shapes.push(
      `<circle cx="${(x + 30).toFixed(1)}" cy="${(y - 4).toFixed(1)}" r="11" fill="#f7c6d0" stroke="#a0606e"/>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<rect width="100%" height="100%" fill="#d8c38a"/>
<rect x="8" y="8" width="${width - 16}" height="28" fill="#6b5b3e"/>
${shapes.join("\n")}
<text x="14" y="28" font-family="sans-serif" font-size="16" fill="#fff">sim-camera frame ${n}</text>
</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

export function syntheticGrabber(o: { fps: number; width: number; height: number; pigs: number }): Grabber {
  let n = 0;
  return async (signal, onJpeg) => {
    while (!signal.aborted) {
      const t0 = Date.now();
      await onJpeg(await renderPen(n++, o.width, o.height, o.pigs));
      await sleep(Math.max(0, 1000 / o.fps - (Date.now() - t0)), signal);
    }
  };
}
