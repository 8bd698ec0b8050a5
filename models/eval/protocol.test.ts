import { describe, expect, it } from "vitest";
import { rng } from "../synth/rng.ts";
import { evaluateEmbeddings } from "./metrics.ts";

/** `pigs` animals × `per` frames of unit vectors: each animal a direction plus drift over its frames. */
function herd(pigs: number, per: number, dim: number, drift: number, seed = 1) {
  const r = rng(seed);
  const y = new Int32Array(pigs * per);
  const emb = new Float32Array(pigs * per * dim);
  for (let p = 0; p < pigs; p++) {
    const c = Array.from({ length: dim }, () => r() - 0.5);
    const d = Array.from({ length: dim }, () => r() - 0.5);
    for (let f = 0; f < per; f++) {
      const i = p * per + f;
      y[i] = p;
      // late frames drift away from the early ones (pose, growth): probes are harder than neighbours
      const v = c.map((x, k) => x + (drift * f * d[k]!) / per + (r() - 0.5) * 0.05);
      const n = Math.hypot(...v);
      for (let k = 0; k < dim; k++) emb[i * dim + k] = v[k]! / n;
    }
  }
  return { emb, y, labels: Array.from({ length: pigs }, (_, p) => `p${p}`) };
}

describe("model eval protocol", () => {
  it("enrols random early shots by seed, probes late frames, calibrates the threshold without the probes", () => {
    const { emb, y, labels } = herd(20, 12, 16, 1.5);
    const a = evaluateEmbeddings(emb, 16, y, labels, { galleryPerPig: 3, seed: 1 });
    expect(a).toMatchObject({ pigs: 20, enrolled: 14, unknownPigs: 6, galleryImages: 42, queries: 56 });
    // 4 early pool frames - 3 shots + 4 middle frames, per enrolled animal
    expect(a.calibrationQueries).toBe(14 * 5);
    expect(a.unknownQueries).toBe(6 * 12);
    // the figures are separate: verification TAR, identification at the calibrated threshold
    expect(a.identificationRate).toBeLessThanOrEqual(a.rank1);
    expect(a.rank5).toBeGreaterThanOrEqual(a.rank1);
    // another seed draws other shots (and other unknown animals): the figures move
    const b = evaluateEmbeddings(emb, 16, y, labels, { galleryPerPig: 3, seed: 2 });
    expect(b.threshold).not.toBe(a.threshold);
  });

  it("does not look at the probes to set the threshold: changing only probe frames leaves it unchanged", () => {
    const h = herd(20, 12, 16, 1.5);
    const a = evaluateEmbeddings(h.emb, 16, h.y, h.labels, { seed: 4 });
    // scramble the last third (probes) of every animal
    const moved = Float32Array.from(h.emb);
    const r = rng(9);
    for (let i = 0; i < h.y.length; i++) {
      if (i % 12 < 8) continue;
      for (let k = 0; k < 16; k++) moved[i * 16 + k] = r() - 0.5;
      const n = Math.hypot(...moved.subarray(i * 16, i * 16 + 16));
      for (let k = 0; k < 16; k++) moved[i * 16 + k]! /= n;
    }
    const b = evaluateEmbeddings(moved, 16, h.y, h.labels, { seed: 4 });
    expect(b.threshold).toBe(a.threshold);
    expect(b.rank1).toBeLessThan(a.rank1);
  });

  it("with random embeddings reports chance, not a perfect score", () => {
    const r = rng(3);
    const dim = 16;
    const n = 30 * 9;
    const emb = Float32Array.from({ length: n * dim }, () => r() - 0.5);
    for (let i = 0; i < n; i++) {
      const s = Math.hypot(...emb.subarray(i * dim, (i + 1) * dim));
      for (let k = 0; k < dim; k++) emb[i * dim + k]! /= s;
    }
    const y = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 9));
    const m = evaluateEmbeddings(
      emb,
      dim,
      y,
      Array.from({ length: 30 }, (_, i) => `p${i}`),
      {},
    );
    expect(m.rank1).toBeLessThan(0.25);
    expect(m.tarAtFar).toBeLessThan(0.2);
  });
});
