import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvalMetrics } from "../eval/metrics.ts";

/** What a model directory says about itself: how it was made, on what, and how well it does. */
export interface ModelCard {
  name: "pigface";
  version: string;
  createdAt: string;
  backend: string;
  input: { size: number; channels: 3; normalisation: "per-image standardisation" };
  embeddingDim: number;
  data: {
    dir: string;
    classes: number;
    images: number;
    trainClasses: number;
    validationClasses: number;
    /** Images skipped (undecodable), listed on the CLI with path and code. */
    skipped?: number;
  };
  training: {
    epochs: number;
    batch: number;
    lr: number;
    ms: number;
    losses: number[];
    /** Validation rank-1 after each epoch. */
    validationRank1?: number[];
    augment?: string;
    initFrom?: string;
    /** Herd adaptation: layers with weights kept from the base, and views of each frame cached. */
    freeze?: number;
    views?: number;
    /** Why training ended, epochs started, and the epoch (1-based) whose weights were kept. */
    stopped?: "epochs" | "early" | "budget";
    epochsRun?: number;
    bestEpoch?: number;
    /** Early stopping: rank-1 of the stop probes (each pig's last training frame) per epoch. */
    stopRank1?: number[];
    stopProbes?: number;
    /** Time computing the frozen layers' activations (ms, within `ms`). */
    cacheMs?: number;
    budgetMinutes?: number;
  };
  /** Open-set metrics on pigs held out of training (or the training pigs when too few). */
  metrics: EvalMetrics & { on: "held-out pigs" | "training pigs" | "herd late frames" };
  /** Default rejection threshold (cosine) for the gallery, calibrated at metrics.far. */
  threshold: number;
  files: Record<string, string>;
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function readCard(dir: string): ModelCard | undefined {
  const f = join(dir, "card.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as ModelCard) : undefined;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function cardMarkdown(c: ModelCard): string {
  const m = c.metrics;
  return [
    `# Pig-face embedding model ${c.version}`,
    "",
    `Created ${c.createdAt} on the \`${c.backend}\` backend.`,
    "",
    "## Data",
    `- Folder: \`${c.data.dir}\` (DIR/<pigId>/*.jpg)`,
    `- ${c.data.classes} animals, ${c.data.images} images; trained on ${c.data.trainClasses}, validated on ${c.data.validationClasses} held-out animals`,
    "",
    "## Training",
    `- ${c.training.epochs} epochs, batch ${c.training.batch}, lr ${c.training.lr}, ${(c.training.ms / 1000).toFixed(1)} s`,
    ...(c.training.stopped
      ? [
          `- Ran ${c.training.epochsRun} epochs (stopped by ${c.training.stopped}${c.training.bestEpoch ? `, kept epoch ${c.training.bestEpoch}` : ""}); first ${c.training.freeze ?? 0} layers frozen${c.training.views ? `, ${c.training.views} views per frame cached` : ""}`,
        ]
      : []),
    `- Loss by epoch: ${c.training.losses.map((l) => l.toFixed(3)).join(", ")}`,
    c.training.initFrom ? `- Fine-tuned from ${c.training.initFrom}` : "- From random initialisation",
    "",
    `## Metrics (${m.on}: ${m.enrolled} enrolled, ${m.unknownPigs} never enrolled)`,
    `| metric | value |`,
    `|---|---|`,
    `| rank-1 / rank-5 | ${pct(m.rank1)} / ${pct(m.rank5 ?? 0)} |`,
    `| verification TAR @ FAR ${pct(m.far)} | ${pct(m.tarAtFar)} |`,
    `| threshold (calibrated on frames that are not probes) | ${m.threshold.toFixed(4)} |`,
    `| identification rate at the threshold | ${pct(m.identificationRate ?? 0)} |`,
    `| unknown-pig rejection at the threshold | ${pct(m.unknownRejection)} |`,
    "",
    "## Model",
    `- Input ${c.input.size}×${c.input.size} RGB, ${c.input.normalisation}; output ${c.embeddingDim}-d L2-normalised`,
    ...Object.entries(c.files).map(([f, h]) => `- \`${f}\` sha256 ${h}`),
    "",
  ].join("\n");
}

export function writeCard(dir: string, c: ModelCard): void {
  writeFileSync(join(dir, "card.json"), `${JSON.stringify(c, null, 2)}\n`);
  writeFileSync(join(dir, "card.md"), cardMarkdown(c));
}
