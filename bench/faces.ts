import { loadEmbedder } from "../models/embed/embedder.ts";
import { decodeFace } from "../models/embed/preprocess.ts";
import { TemplateMatrix } from "../models/gallery/matrix.ts";
import { PRETRAINED_DIR } from "../models/pipeline/model-dir.ts";
import { type BackendName, ensureRuntime } from "../models/runtime.ts";
import { faceJpeg } from "../models/synth/dataset.ts";
import { rng } from "../models/synth/rng.ts";
import { pigTraits } from "../models/synth/traits.ts";

export interface BenchLine {
  bench: "faces";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

async function msPerFace(backend: BackendName, n: number): Promise<number> {
  await ensureRuntime({ prefer: backend });
  const emb = await loadEmbedder(PRETRAINED_DIR);
  const crop = await decodeFace(await faceJpeg(pigTraits(1, 0), 1, 0), emb.size);
  emb.embed(crop, 1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) emb.embed(crop, 1);
  const ms = (performance.now() - t0) / n;
  emb.dispose();
  return ms;
}

function randomUnit(r: () => number, dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => r() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Naive matcher: templates as objects with number arrays, a map per query and a full sort. */
function naiveMatch(templates: { pig: string; vec: number[] }[], q: number[]): string {
  const best = new Map<string, number>();
  for (const t of templates) {
    const s = t.vec.reduce((acc, v, i) => acc + v * q[i]!, 0);
    best.set(t.pig, Math.max(best.get(t.pig) ?? -2, s));
  }
  return [...best.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

function matchTimes(dim: number): { fast: number; naive: number } {
  const r = rng(42);
  const m = new TemplateMatrix(dim, 10_000);
  const naive: { pig: string; vec: number[] }[] = [];
  for (let i = 0; i < 10_000; i++) {
    const v = randomUnit(r, dim);
    m.add(`pig-${i % 1250}`, v);
    naive.push({ pig: `pig-${i % 1250}`, vec: Array.from(v) });
  }
  const qs = Array.from({ length: 50 }, () => randomUnit(r, dim));
  for (let i = 0; i < 4; i++) for (const q of qs) m.match(q, 5);
  let t0 = performance.now();
  for (const q of qs) m.match(q, 5);
  const fast = (performance.now() - t0) / qs.length;
  const few = qs.slice(0, 10).map((q) => Array.from(q));
  t0 = performance.now();
  for (const q of few) naiveMatch(naive, q);
  return { fast, naive: (performance.now() - t0) / few.length };
}

/** `npm run bench -- faces`: embedding speed by backend, gallery match time, RSS with the model loaded. */
export async function benchFaces(): Promise<BenchLine[]> {
  // wasm first, and RSS right after it, before the cpu backend and the naive gallery inflate it
  const wasm = await msPerFace("wasm", 200);
  const emb = await loadEmbedder(PRETRAINED_DIR);
  const rss = process.memoryUsage().rss / 1024 / 1024;
  const { fast, naive } = matchTimes(emb.dim);
  emb.dispose();
  const cpu = await msPerFace("cpu", 10);
  return [
    {
      bench: "faces",
      metric: "embed_ms_per_face_wasm",
      value: wasm,
      unit: "ms",
      baseline: cpu,
      ratio: cpu / wasm,
    },
    { bench: "faces", metric: "embed_ms_per_face_cpu", value: cpu, unit: "ms" },
    {
      bench: "faces",
      metric: "match_ms_10k_templates",
      value: fast,
      unit: "ms",
      baseline: naive,
      ratio: naive / fast,
    },
    { bench: "faces", metric: "rss_mb_model_loaded", value: rss, unit: "MB" },
  ];
}
