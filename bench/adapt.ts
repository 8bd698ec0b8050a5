// `npm run bench -- adapt`: herd adaptation on a synthetic 500-pig barn (the product's own face
// generator, models/synth; never the ../shared dataset), ~20 labelled frames per pig: the frozen,
// cached path (the default) against the old path (every layer trained, fresh augmentation every step).
// The old path is slow: it runs under a time budget (BENCH_ADAPT_OLD_MINUTES, default 3) and its full
// time is extrapolated from its mean step time (its figures are then those of a partial run). Both
// paths run in full on a smaller herd (BENCH_ADAPT_CMP_PIGS, default 50; 0 skips) for the accuracy
// comparison. Herd: BENCH_ADAPT_PIGS (500), BENCH_ADAPT_PER_PIG (20), cached in BENCH_ADAPT_DIR
// (default $TMPDIR/barnlink-bench-adapt-<pigs>x<perPig>), generated once. Profile:
// `node --cpu-prof --cpu-prof-dir=/tmp/prof bin/bench.js adapt`.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdaptOptions, adaptModel } from "../models/adapt.ts";
import { type FaceSet, loadImageFolder } from "../models/embed/image-folder.ts";
import { subsetClasses } from "../models/embed/subset.ts";
import type { EvalMetrics } from "../models/eval/metrics.ts";
import { ensureRuntime } from "../models/runtime.ts";
import { generateDataset } from "../models/synth/dataset.ts";

export interface BenchLine {
  bench: "adapt";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const env = (k: string, d: number) => Number(process.env[k] ?? d);

async function herd(pigs: number, perPig: number): Promise<FaceSet> {
  const dir = process.env.BENCH_ADAPT_DIR ?? join(tmpdir(), `barnlink-bench-adapt-${pigs}x${perPig}`);
  if (!existsSync(join(dir, ".complete"))) {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`adapt: generating ${pigs} synthetic pigs × ${perPig} frames in ${dir}\n`);
    await generateDataset({ dir, pigs, perPig, seed: 7 });
    writeFileSync(join(dir, ".complete"), "");
  }
  return loadImageFolder(dir);
}

interface Run {
  ms: number;
  steps: number;
  stepsDone: number;
  adapted: EvalMetrics;
  current: EvalMetrics;
  epochsRun: number;
}

async function run(set: FaceSet, o: Partial<AdaptOptions>): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), "bench-adapt-"));
  let steps = 0;
  let stepsDone = 0;
  try {
    const r = await adaptModel({
      herd: set,
      out,
      force: true,
      progress: false,
      version: "bench",
      ...o,
      onProgress: (p) => {
        steps = p.steps;
        stepsDone = p.step;
      },
    });
    const t = r.card.training;
    return {
      ms: t.ms,
      steps,
      stepsDone,
      adapted: r.card.herd.adapted,
      current: r.card.herd.current,
      epochsRun: t.epochsRun ?? t.epochs,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const OLD: Partial<AdaptOptions> = { freeze: 0, patience: 0 };

/** `npm run bench -- adapt`: 500 pigs × 20 frames, new path vs old (extrapolated), figures of both. */
export async function benchAdapt(): Promise<BenchLine[]> {
  await ensureRuntime({ prefer: "wasm" });
  const pigs = env("BENCH_ADAPT_PIGS", 500);
  const perPig = env("BENCH_ADAPT_PER_PIG", 20);
  const set = await herd(pigs, perPig);
  const lines: BenchLine[] = [];
  const push = (metric: string, value: number, unit: string, baseline?: number) =>
    lines.push({
      bench: "adapt",
      metric,
      value,
      unit,
      ...(baseline !== undefined ? { baseline, ratio: baseline / value } : {}),
    });
  const figures = (tag: string, r: Run) => {
    push(`${tag} rank-1`, r.adapted.rank1, "share", r.current.rank1);
    push(
      `${tag} identified at threshold`,
      r.adapted.identificationRate ?? 0,
      "share",
      r.current.identificationRate,
    );
    push(`${tag} TAR @ FAR 1%`, r.adapted.tarAtFar, "share", r.current.tarAtFar);
  };
  const tag = `${pigs}x${perPig}`;
  const fresh = await run(set, {});
  push(`${tag} frames`, set.y.length, "frames");
  push(`${tag} new epochs run`, fresh.epochsRun, "epochs");
  const old = await run(set, { ...OLD, budgetMinutes: env("BENCH_ADAPT_OLD_MINUTES", 3) });
  const oldFull = (old.ms / Math.max(1, old.stepsDone)) * old.steps;
  push(
    `${tag} old ms per step (${old.stepsDone}/${old.steps} steps run)`,
    old.ms / Math.max(1, old.stepsDone),
    "ms",
  );
  push(`${tag} training s (baseline: old, extrapolated)`, fresh.ms / 1000, "s", oldFull / 1000);
  figures(`${tag} new (baseline: shipped model)`, fresh);
  figures(`${tag} old, partial run (baseline: shipped model)`, old);
  const cmp = env("BENCH_ADAPT_CMP_PIGS", 50);
  if (cmp > 0) {
    const small = subsetClasses(
      set,
      set.labels.slice(0, Math.min(cmp, pigs)).map((_, i) => i),
    );
    const a = await run(small, {});
    const b = await run(small, OLD);
    const t = `${small.labels.length}x${perPig}`;
    push(`${t} training s (baseline: old, full)`, a.ms / 1000, "s", b.ms / 1000);
    push(`${t} new rank-1 (baseline: old)`, a.adapted.rank1, "share", b.adapted.rank1);
    push(
      `${t} new identified at threshold (baseline: old)`,
      a.adapted.identificationRate ?? 0,
      "share",
      b.adapted.identificationRate,
    );
    push(`${t} new TAR @ FAR 1% (baseline: old)`, a.adapted.tarAtFar, "share", b.adapted.tarAtFar);
    push(`${t} shipped model rank-1`, a.current.rank1, "share");
  }
  return lines;
}
