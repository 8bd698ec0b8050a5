import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { listImageFolder } from "../models/embed/image-folder.ts";
import { splitFrames } from "../models/eval/metrics.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { rng } from "../models/synth/rng.ts";
import { ENROL, fuse3, issueReference, issueSplit, PROBE } from "./faces-real-ref.ts";

// Runs without the dev set: a small folder of noise images stands in for it.
const root = mkdtempSync(join(tmpdir(), "bl-faces-ref-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function fakeDevSet(animals: number, frames: number): Promise<string> {
  const dir = join(root, "images");
  const r = rng(5);
  for (let a = 0; a < animals; a++) {
    mkdirSync(join(dir, `cow${a}`), { recursive: true });
    for (let f = 0; f < frames; f++) {
      const px = Buffer.from(Array.from({ length: 16 * 16 * 3 }, () => Math.floor(r() * 256)));
      await sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
        .jpeg()
        .toFile(join(dir, `cow${a}`, `${f}.jpg`));
    }
  }
  return dir;
}

describe("faces-real-ref: the issue's protocol", () => {
  it("holds out 20 animals at random by seed, and trains on exactly the others", () => {
    for (const seed of [1, 2, 3]) {
      const { heldOut, train } = issueSplit(46, seed);
      expect(heldOut).toHaveLength(20);
      expect(train).toHaveLength(26);
      expect(heldOut.filter((c) => train.includes(c))).toEqual([]);
      expect([...heldOut, ...train].sort((a, b) => a - b)).toEqual(Array.from({ length: 46 }, (_, i) => i));
      expect(issueSplit(46, seed)).toEqual({ heldOut, train });
    }
    expect(issueSplit(46, 1).heldOut).not.toEqual(issueSplit(46, 2).heldOut);
  });

  it("never trains the reference on a held-out animal, and deletes its training folder and weights", async () => {
    const dev = await fakeDevSet(24, 6);
    const seen: { seed: number; labels: string[]; dir: string }[] = [];
    const lines = await issueReference({
      devSet: dev,
      seeds: 2,
      held: 20,
      candidate: PRETRAINED_DIR,
      // stands in for `model train`: records what it was given; the shipped model is the "reference"
      train: async (data, _out, version) => {
        const labels = listImageFolder(data).map((c) => c.label);
        seen.push({ seed: Number(version.slice(4)), labels, dir: data });
        return { dir: PRETRAINED_DIR };
      },
    });
    const all = listImageFolder(dev).map((c) => c.label);
    expect(seen.map((s) => s.seed)).toEqual([1, 2]);
    for (const s of seen) {
      const held = issueSplit(24, s.seed, 20).heldOut.map((c) => all[c]!);
      expect(s.labels).toHaveLength(4);
      expect(s.labels.filter((l) => held.includes(l))).toEqual([]);
      expect(existsSync(s.dir)).toBe(false);
    }
    const line = (m: string) => lines.find((l) => l.metric === `issue protocol: ${m}`);
    // the reference here is the shipped model itself: every base/reference ratio is 1
    for (const k of ["rank-1", "rank-5", "TAR @ FAR 1%", "3-frame visit rank-1"]) {
      expect(line(`shipped base ${k}`)?.ratio).toBe(1);
      expect(line(`candidate base ${k}`)?.ratio).toBe(1);
      expect(line(`raw pixels ${k}`)?.baseline).toBe(line(`reference ${k}`)?.value);
    }
    expect(line("held-out animals")?.value).toBe(20);
  });

  it("never probes with a shot, and a 3-frame visit never averages in an enrolment-pool frame", () => {
    // animals with 1 to 50 frames, as in the dev set
    const counts = [1, 2, 3, 4, 5, 6, 10, 17, 26, 50];
    const y = Int32Array.from(counts.flatMap((n, c) => Array.from({ length: n }, () => c)));
    const start = counts.map((_, c) => y.indexOf(c));
    // the protocol's shares (models/eval/metrics.ts): the last third probes, the first ENROL the pool
    const nProbe = (n: number) => (n >= 2 ? Math.max(1, Math.floor(n * PROBE)) : 0);
    const nPool = (n: number) => Math.max(1, Math.min(n - nProbe(n), Math.ceil(n * ENROL)));
    for (const seed of [1, 2, 3]) {
      const s = splitFrames(y, counts.length, {
        galleryPerPig: 3,
        unknown: [],
        enrolShare: ENROL,
        probeShare: PROBE,
        seed,
      });
      const shots = new Set(s.shots.map(([, i]) => i));
      expect(s.probes.filter((i) => shots.has(i))).toEqual([]);
      for (const [c, i] of s.shots) {
        expect(y[i]).toBe(c);
        expect(i - start[c]!).toBeLessThan(nPool(counts[c]!));
      }
      for (const i of s.probes) {
        const n = counts[y[i]!]!;
        expect(i - start[y[i]!]!).toBeGreaterThanOrEqual(n - nProbe(n));
      }
    }
    // changing every frame of every enrolment pool leaves every fused probe as it was
    const dim = 4;
    const r = rng(2);
    const v = Float32Array.from({ length: y.length * dim }, () => r() - 0.5);
    const moved = Float32Array.from(v);
    for (const [c, n] of counts.entries()) {
      for (let i = start[c]!; i < start[c]! + nPool(n); i++)
        for (let k = 0; k < dim; k++) moved[i * dim + k] = r();
    }
    const probes = splitFrames(y, counts.length, {
      unknown: [],
      enrolShare: ENROL,
      probeShare: PROBE,
    }).probes;
    const [a, b] = [fuse3(v, dim, y), fuse3(moved, dim, y)];
    for (const i of probes)
      expect(b.subarray(i * dim, (i + 1) * dim)).toEqual(a.subarray(i * dim, (i + 1) * dim));
  });
});
