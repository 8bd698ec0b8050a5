import type { Logger } from "../../core/log.ts";
import { loadEmbedder } from "../embed/embedder.ts";
import { loadImageFolder, type SkippedImage } from "../embed/image-folder.ts";
import { ERR_MODEL_DATA } from "../errors.ts";
import { resolveModelDir } from "../pipeline/model-dir.ts";
import { ProgressBar } from "../progress.ts";
import { ensureRuntime } from "../runtime.ts";
import { type EvalMetrics, evaluateEmbeddings } from "./metrics.ts";

export interface ModelEvalOptions {
  data: string;
  /** Model directory or models root; default: the shipped model. */
  model?: string;
  /** Enrolment shots per animal (random by seed from its early frames); default 3. */
  galleryPerPig?: number;
  unknownFraction?: number;
  far?: number;
  seed?: number;
  progress?: boolean;
  log?: Logger;
}

export interface ModelEvalResult {
  metrics: EvalMetrics & { model: string; backend: string; msPerFace: number };
  /** Images left out (undecodable), with path and code. */
  skipped: SkippedImage[];
  table: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function metricsTable(m: ModelEvalResult["metrics"]): string {
  const rows: [string, string][] = [
    ["model", m.model],
    ["backend", `${m.backend} (${m.msPerFace.toFixed(2)} ms/face)`],
    ["animals", `${m.pigs} (${m.enrolled} enrolled, ${m.unknownPigs} never enrolled)`],
    [
      "gallery / probes",
      `${m.galleryImages} shots / ${m.queries} late frames + ${m.unknownQueries} of unknown animals`,
    ],
    ["calibration frames", String(m.calibrationQueries)],
    ["rank-1 / rank-5", `${pct(m.rank1)} / ${pct(m.rank5)}`],
    [`verification TAR @ FAR ${pct(m.far)}`, pct(m.tarAtFar)],
    ["threshold (calibrated, cosine)", m.threshold.toFixed(4)],
    ["identification rate at threshold", pct(m.identificationRate)],
    ["unknown rejection at threshold", pct(m.unknownRejection)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

/** `barnlink model eval`: open-set metrics of a model on a labelled folder (protocol: eval/metrics.ts). */
export async function modelEval(o: ModelEvalOptions): Promise<ModelEvalResult> {
  const rt = await ensureRuntime({ log: o.log });
  const emb = await loadEmbedder(resolveModelDir(o.model));
  const show = o.progress ?? true;
  const load = new ProgressBar("load ", 1, process.stderr, show);
  const set = await loadImageFolder(o.data, {
    size: emb.size,
    onProgress: (d, t) => {
      load.total = t;
      load.update(d);
    },
  });
  if (set.labels.length < 2)
    throw ERR_MODEL_DATA(`${o.data}: need at least 2 animals, found ${set.labels.length}`);
  const n = set.y.length;
  const bar = new ProgressBar("embed", n, process.stderr, show);
  const vecs = new Float32Array(n * emb.dim);
  const per = emb.size * emb.size * 3;
  const t0 = performance.now();
  for (let i = 0; i < n; i += 32) {
    const k = Math.min(32, n - i);
    vecs.set(emb.embed(set.pixels.subarray(i * per, (i + k) * per), k), i * emb.dim);
    bar.update(i + k);
  }
  const msPerFace = (performance.now() - t0) / n;
  const m = evaluateEmbeddings(vecs, emb.dim, set.y, set.labels, o);
  const metrics = { ...m, model: emb.version, backend: rt.backend, msPerFace };
  emb.dispose();
  return { metrics, skipped: set.skipped, table: metricsTable(metrics) };
}
