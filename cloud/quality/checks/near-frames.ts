import { hammingHex, PHASH_RE } from "../../../core/phash.ts";
import { citesOf } from "../cite.ts";
import { median } from "../stats.ts";
import type { Check, Finding, QRow } from "../types.ts";

const H = 3_600_000;

interface F {
  r: QRow;
  sha: string;
  ph: string;
  hi: number;
  lo: number;
}

/** Bits between two frames' hashes (parsed once: the check compares every pair of a camera's frames). */
function dist(a: F, b: F): number {
  let d = 0;
  for (let x = (a.hi ^ b.hi) >>> 0; x; x &= x - 1) d++;
  for (let x = (a.lo ^ b.lo) >>> 0; x; x &= x - 1) d++;
  return d;
}

/**
 * Near-copies of earlier camera frames: the 64-bit perceptual hash the gateway sends beside each
 * frame's SHA-256 (sightings' `framePhash`, media's `phash`; older agents send none and are not
 * judged). A frame re-encoded at another quality, brightened or shifted by a pixel has a new SHA-256
 * but lies a few bits from the original; the same pen at another time lies far off, because pigs
 * move. A frame counts as a copy when an earlier frame at least `minShiftHours` older lies within
 * `maxDistance` bits while the camera's frames usually differ by `minSpread` bits or more (so a
 * still pen, honestly repeating itself, is not judged), and the copies share one time shift (within
 * `shiftToleranceMinutes`): a replay moves a stretch of footage in time, while two unrelated
 * moments that happen to look alike fall at scattered shifts. Byte-identical copies are
 * repeated-frames'.
 */
export const nearFrames: Check = {
  id: "near-frames",
  title: "near-copies of earlier camera frames",
  run(q, p) {
    const o = p.frames;
    const cams = new Map<string, F[]>();
    const seen = new Set<string>();
    for (const r of q.frames) {
      const sha = (r.body.frameSha256 ?? r.body.sha256) as unknown;
      const ph = (r.body.framePhash ?? r.body.phash) as unknown;
      if (typeof sha !== "string" || typeof ph !== "string" || !PHASH_RE.test(ph) || seen.has(sha)) continue;
      seen.add(sha);
      const k = `${r.device}\0${String(r.body.camera ?? "")}`;
      const list = cams.get(k) ?? [];
      list.push({
        r,
        sha,
        ph,
        hi: Number.parseInt(ph.slice(0, 8), 16),
        lo: Number.parseInt(ph.slice(8), 16),
      });
      cams.set(k, list);
    }
    const out: Finding[] = [];
    const bucket = o.shiftToleranceMinutes * 60_000;
    for (const frames of cams.values()) {
      // Every near pair (a window frame, an older one), by the time shift between them: a replay
      // copies a stretch of footage at one shift; chance look-alikes scatter over many shifts.
      const byShift = new Map<number, Map<F, F>>();
      let inWindow = 0;
      for (const [i, f] of frames.entries()) {
        if (f.r.t < q.from) continue;
        inWindow++;
        if (spread(frames, f) < o.minSpread) continue;
        for (let j = 0; j < i; j++) {
          const g = frames[j]!;
          if (f.r.t - g.r.t < o.minShiftHours * H) break;
          if (dist(f, g) > o.maxDistance) continue;
          const k = Math.round((f.r.t - g.r.t) / bucket);
          const m = byShift.get(k) ?? new Map<F, F>();
          if (!m.has(f)) m.set(f, g);
          byShift.set(k, m);
        }
      }
      let top = new Map<F, F>();
      for (const m of byShift.values()) if (m.size > top.size) top = m;
      const copies = [...top.keys()];
      const sources = [...top.values()];
      if (copies.length < 3 || copies.length < o.minMatches / 2) continue;
      const scenes: string[] = [];
      for (const s of sources)
        if (!scenes.some((x) => hammingHex(x, s.ph) <= o.maxDistance)) scenes.push(s.ph);
      const share = copies.length / inWindow;
      const bad = copies.length >= o.minMatches && scenes.length >= o.minScenes && share >= 0.5;
      const shift = median(copies.map((c, i) => c.r.t - sources[i]!.r.t)) / H;
      out.push({
        check: "near-frames",
        severity: bad ? "critical" : "warning",
        device: copies[0]!.r.device,
        subject: bad ? "census" : "camera",
        unusable: bad,
        message: `${copies.length} camera frames in the window (${Math.round(share * 100)}%) are near-copies of frames about ${Math.round(shift)} h older (re-encoded or retouched, ${scenes.length} different scenes): replayed camera footage`,
        fromT: copies[0]!.r.t,
        toT: copies.at(-1)!.r.t,
        figures: { nearCopies: copies.length, share: Math.round(share * 1000) / 1000, scenes: scenes.length },
        cites: [...citesOf(copies.map((c) => c.r)), ...citesOf(sources.map((s) => s.r))],
      });
    }
    return out;
  },
};

/** Median distance from a frame to (up to 64 of) the camera's other frames: how much its view changes. */
function spread(frames: F[], f: F): number {
  const step = Math.max(1, Math.floor(frames.length / 64));
  const d: number[] = [];
  for (let j = 0; j < frames.length; j += step) if (frames[j] !== f) d.push(dist(f, frames[j]!));
  return median(d);
}
