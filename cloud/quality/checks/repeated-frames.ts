import { citesOf } from "../cite.ts";
import type { Check, QRow } from "../types.ts";

/**
 * Repeated camera frames: the SHA-256 the gateway records of each frame (sightings' frameSha256,
 * media's sha256) seen again more than a minute later. A camera never produces the same JPEG twice
 * (sensor noise); a replayed recording does. Several sightings of one frame at once are normal.
 * Near-copies (re-encoded frames) need a perceptual hash of the image, which the cloud does not
 * receive: not checked (docs/evidence-quality.md).
 */
export const repeatedFrames: Check = {
  id: "repeated-frames",
  title: "repeated camera frames",
  run(q) {
    const first = new Map<string, QRow>();
    const again: QRow[] = [];
    const sources: QRow[] = [];
    let frames = 0;
    for (const r of q.frames) {
      const h = (r.body.frameSha256 ?? r.body.sha256) as string | undefined;
      if (typeof h !== "string") continue;
      const f = first.get(h);
      if (!f) {
        first.set(h, r);
        if (r.t >= q.from) frames++;
      } else if (r.t - f.t > 60_000 && r.t >= q.from) {
        again.push(r);
        sources.push(f);
      }
    }
    if (again.length === 0) return [];
    const share = again.length / (again.length + frames);
    const bad = again.length >= 10 && share >= 0.5;
    return [
      {
        check: "repeated-frames",
        severity: bad ? "critical" : "warning",
        device: again[0]!.device,
        subject: bad ? "census" : "camera",
        unusable: bad,
        message: `${again.length} camera frames in the window are byte-identical copies of earlier frames (${Math.round(share * 100)}% of frames): replayed camera footage`,
        fromT: again[0]!.t,
        toT: again.at(-1)!.t,
        figures: { repeated: again.length, share: Math.round(share * 1000) / 1000 },
        cites: [...citesOf(again), ...citesOf(sources)],
      },
    ];
  },
};
