import { cloudConfigSchema } from "../../cloud/config.ts";
import { publishModel } from "../../cloud/models/publish.ts";
import { loadConfigFile } from "../../core/config.ts";
import { BarnlinkError, ERR_USAGE } from "../../core/errors.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { adaptModel } from "../../models/adapt.ts";
import { modelEval, modelTrain } from "../../models/cli.ts";
import type { SkippedImage } from "../../models/embed/image-folder.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

// `barnlink model train | adapt | eval` (the learning side of `barnlink model`; the rest is in model.ts).

export const int = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw ERR_USAGE(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
};
export const log = () => createLogger("model", process.env.BARNLINK_LOG ?? "warn");

export const num = (v: string | undefined, name: string, min = 0, max = Number.POSITIVE_INFINITY) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw ERR_USAGE(`${name} must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return n;
};

/** Prints each skipped image with its path and code on stderr (the run went on without it). */
export function reportSkipped(skipped: SkippedImage[]): void {
  for (const s of skipped) process.stderr.write(`skipped ${s.file} [${s.code}]: ${s.message}\n`);
}

const trainUsage = [
  "barnlink model train --data DIR --out DIR [options]",
  "  --data DIR          labelled photos, DIR/<animalId>/*.jpg (frames in file-name order)",
  "  --out DIR           parent directory; the model goes to OUT/<version>/",
  "  --epochs N          passes over the data (default 15)",
  "  --batch N           images per step (default 32)",
  "  --lr X              Adam learning rate, cosine-decayed (default 0.002)",
  "  --margin X          CosFace cosine margin (default 0.3)",
  "  --scale X           CosFace logit scale (default 16)",
  "  --dim N             embedding size of a new network (default 64)",
  "  --augment strong|light   augmentation (default strong: zoom, rotation, jitter, grey/infrared)",
  "  --validation X      share of animals held out for validation and the threshold (default 0.2)",
  "  --shots N           enrolment shots per validation animal for the card (default 3)",
  "  --seed N            random seed (default 1)",
  "  --init MODEL_DIR    fine-tune this model instead of starting from random weights",
  "  --version V         version name (default pigface-<timestamp>)",
  "  --quiet             no progress on stderr",
].join("\n");
export const modelTrainCmd: CommandSpec = {
  name: "model train",
  summary:
    "Train or fine-tune the face embedding on labelled photos (DIR/<animalId>/*.jpg); writes a versioned model with its card",
  usage: trainUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        data: { type: "string" },
        out: { type: "string" },
        epochs: { type: "string" },
        batch: { type: "string" },
        lr: { type: "string" },
        margin: { type: "string" },
        scale: { type: "string" },
        dim: { type: "string" },
        augment: { type: "string" },
        validation: { type: "string" },
        shots: { type: "string" },
        seed: { type: "string" },
        init: { type: "string" },
        version: { type: "string" },
        quiet: { type: "boolean" },
      },
      trainUsage,
    );
    const v = a.values;
    if (v.augment !== undefined && v.augment !== "strong" && v.augment !== "light")
      throw ERR_USAGE(
        `--augment must be strong or light, got ${JSON.stringify(v.augment)}\nusage: ${trainUsage}`,
      );
    const r = await modelTrain({
      data: need(v.data, "--data DIR", trainUsage),
      out: need(v.out, "--out DIR", trainUsage),
      epochs: int(v.epochs, "--epochs"),
      batch: int(v.batch, "--batch"),
      lr: num(v.lr, "--lr", 1e-6, 1),
      margin: num(v.margin, "--margin", 0, 1),
      scale: num(v.scale, "--scale", 1, 128),
      dim: int(v.dim, "--dim"),
      augment: v.augment as "strong" | "light" | undefined,
      validation: num(v.validation, "--validation", 0, 0.9),
      shots: int(v.shots, "--shots"),
      seed: int(v.seed, "--seed"),
      init: v.init,
      version: v.version,
      progress: !v.quiet,
      log: log(),
    });
    reportSkipped(r.skipped);
    out(`model ${r.version} written to ${r.dir}`);
    return 0;
  },
};

const adaptUsage = [
  "barnlink model adapt --herd DIR --out DIR [options]",
  "  fine-tunes the base model on this herd's labelled frames, validates on each pig's late frames,",
  "  and refuses [BL_MODEL_WORSE] a model that identifies fewer of them than the current one.",
  "  --herd DIR          the herd's labelled frames, DIR/<pigId>/*.jpg (file-name order = time order)",
  "  --out DIR           parent directory; the model goes to OUT/<version>/",
  "  --base MODEL_DIR    model to adapt (default: the shipped base model)",
  "  --current MODEL_DIR model the farm uses now, to beat (default: --base)",
  "  --holdout X         share of each pig's frames, the last ones, held out (default 0.33)",
  "  --epochs N  --batch N  --lr X  --margin X  --scale X  --seed N   training (defaults 20, 32, 0.001, 0.3, 16, 1)",
  "  --freeze N          early convolutions kept from the base, their activations computed once (default 2;",
  "                      0: train every layer with fresh augmentation each step, the slow path)",
  "  --views N           with --freeze: versions of each frame cached, the clean one included (default 4)",
  "  --patience N        stop after N epochs without a better figure on each pig's last training frame,",
  "                      not trained on; not before half the epochs; keeps the best (default 3; 0: off)",
  "  --budget-minutes X  training time budget: stop at the first step past it (the card says so)",
  "  --shots N           enrolment shots per pig for the validation figures (default 5)",
  "  --version V         version name (default pigface-herd-<timestamp>)",
  "  --publish --config CLOUD.yaml   sign and store it for rollout (POST /api/v1/models/{v}/rollout)",
  "  --quiet             no progress on stderr",
  "  --json              JSON lines on stdout: {event:progress,…} per step, then {event:result,…} or",
  "                      {event:error,code,message,details} (what the cloud's adapt job reads)",
].join("\n");
export const modelAdaptCmd: CommandSpec = {
  name: "model adapt",
  summary:
    "Herd adaptation: fine-tune on this herd's frames, validate on late frames, publish only if better",
  usage: adaptUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        herd: { type: "string" },
        out: { type: "string" },
        base: { type: "string" },
        current: { type: "string" },
        holdout: { type: "string" },
        epochs: { type: "string" },
        batch: { type: "string" },
        lr: { type: "string" },
        margin: { type: "string" },
        scale: { type: "string" },
        seed: { type: "string" },
        shots: { type: "string" },
        freeze: { type: "string" },
        views: { type: "string" },
        patience: { type: "string" },
        "budget-minutes": { type: "string" },
        version: { type: "string" },
        publish: { type: "boolean" },
        config: { type: "string", short: "c" },
        quiet: { type: "boolean" },
        json: { type: "boolean" },
      },
      adaptUsage,
    );
    const v = a.values;
    const line = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
    const cfg = v.publish
      ? loadConfigFile(need(v.config, "--config CLOUD.yaml (with --publish)", adaptUsage), cloudConfigSchema)
      : undefined;
    const adapt = adaptModel({
      herd: need(v.herd, "--herd DIR", adaptUsage),
      out: need(v.out, "--out DIR", adaptUsage),
      base: v.base,
      current: v.current,
      holdout: num(v.holdout, "--holdout", 0.05, 0.8),
      epochs: int(v.epochs, "--epochs"),
      batch: int(v.batch, "--batch"),
      lr: num(v.lr, "--lr", 1e-6, 1),
      margin: num(v.margin, "--margin", 0, 1),
      scale: num(v.scale, "--scale", 1, 128),
      seed: int(v.seed, "--seed"),
      shots: int(v.shots, "--shots"),
      freeze: num(v.freeze, "--freeze", 0, 16),
      views: int(v.views, "--views"),
      patience: num(v.patience, "--patience", 0, 1000),
      budgetMinutes: num(v["budget-minutes"], "--budget-minutes", 0.01, 1e6),
      version: v.version,
      progress: !v.quiet && !v.json,
      onProgress: v.json ? (p) => line({ event: "progress", ...p }) : undefined,
      log: log(),
    });
    const r = await adapt.catch((e: unknown) => {
      if (v.json && e instanceof BarnlinkError)
        line({ event: "error", code: e.code, message: e.message, details: e.details ?? null });
      throw e;
    });
    reportSkipped(r.skipped);
    const published = cfg
      ? publishModel({ key: loadOrCreateKey(cfg.keyFile) }, r.dir, cfg.modelsDir, r.version)
      : undefined;
    if (v.json) {
      const { dir, version, card, skipped } = r;
      line({ event: "result", version, dir, ms: Math.round(r.ms), card, skipped, published });
      return 0;
    }
    const h = r.card.herd;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    out(
      `model ${r.version} written to ${r.dir} in ${(r.ms / 1000).toFixed(0)} s: late frames identified ${pct(h.adapted.identificationRate)} (current ${h.currentModel}: ${pct(h.current.identificationRate)}), rank-1 ${pct(h.adapted.rank1)}, TAR @ FAR 1% ${pct(h.adapted.tarAtFar)}`,
    );
    const p = published;
    if (p) out(`published ${p.version} (${p.bytes} bytes, sha256 ${p.sha256}) as ${p.file}`);
    return 0;
  },
};

const evalUsage = [
  "barnlink model eval --data DIR [--model DIR] [--shots 3] [--seed 7] [--far 0.01] [--unknown 0.3] [--json]",
  "  protocol: per animal, frames in file-name order; --shots enrolment shots drawn at random (by",
  "  --seed) from the first third, probes are the last third, the frames between calibrate the",
  "  threshold (never the probes); --unknown share of animals is never enrolled and must be rejected.",
  "  Reports rank-1/5, verification TAR at --far, and identification rate and unknown rejection at",
  "  the calibrated threshold. --json prints one JSON object.",
].join("\n");
export const modelEvalCmd: CommandSpec = {
  name: "model eval",
  summary:
    "Honest open-set metrics on labelled photos: rank-1, verification TAR @ FAR, identification and unknown rejection at a calibrated threshold",
  usage: evalUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        data: { type: "string" },
        model: { type: "string" },
        shots: { type: "string" },
        seed: { type: "string" },
        far: { type: "string" },
        unknown: { type: "string" },
        json: { type: "boolean" },
      },
      evalUsage,
    );
    const v = a.values;
    const r = await modelEval({
      data: need(v.data, "--data DIR", evalUsage),
      model: v.model,
      galleryPerPig: int(v.shots, "--shots"),
      seed: int(v.seed, "--seed"),
      far: num(v.far, "--far", 1e-6, 0.5),
      unknownFraction: num(v.unknown, "--unknown", 0, 0.9),
      progress: !v.json,
      log: log(),
    });
    reportSkipped(r.skipped);
    out(v.json ? JSON.stringify({ ...r.metrics, skipped: r.skipped }) : r.table);
    return 0;
  },
};
