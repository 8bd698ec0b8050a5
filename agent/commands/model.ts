import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { publishModel } from "../../cloud/models/publish.ts";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { adaptModel } from "../../models/adapt.ts";
import { claimCheck, enrol, modelEval, modelSynth, modelTrain } from "../../models/cli.ts";
import type { SkippedImage } from "../../models/embed/image-folder.ts";
import { currentModel, installModel, rollbackModel } from "../../models/rollout/install.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";

const int = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw ERR_USAGE(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
};
const log = () => createLogger("model", process.env.BARNLINK_LOG ?? "warn");

const synthUsage = "barnlink model synth --out DIR [--pigs 30] [--per-pig 10] [--seed 1] [--size 96] [--qr]";
export const modelSynthCmd: CommandSpec = {
  name: "model synth",
  summary: "Generate a synthetic labelled pig-face set (DIR/<pigId>/*.jpg) for trials and tests",
  usage: synthUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        out: { type: "string" },
        pigs: { type: "string" },
        "per-pig": { type: "string" },
        seed: { type: "string" },
        size: { type: "string" },
        qr: { type: "boolean" },
      },
      synthUsage,
    );
    const r = await modelSynth({
      out: need(a.values.out, "--out DIR", synthUsage),
      pigs: int(a.values.pigs, "--pigs"),
      perPig: int(a.values["per-pig"], "--per-pig"),
      seed: int(a.values.seed, "--seed"),
      size: int(a.values.size, "--size"),
      qr: a.values.qr,
    });
    out(`${r.pigs.length} pigs written to ${r.dir}`);
    return 0;
  },
};

const num = (v: string | undefined, name: string, min = 0, max = Number.POSITIVE_INFINITY) => {
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
  "  --shots N           enrolment shots per pig for the validation figures (default 5)",
  "  --version V         version name (default pigface-herd-<timestamp>)",
  "  --publish --config CLOUD.yaml   sign and store it for rollout (POST /api/v1/models/{v}/rollout)",
  "  --quiet             no progress on stderr",
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
        version: { type: "string" },
        publish: { type: "boolean" },
        config: { type: "string", short: "c" },
        quiet: { type: "boolean" },
      },
      adaptUsage,
    );
    const v = a.values;
    const cfg = v.publish
      ? loadConfigFile(need(v.config, "--config CLOUD.yaml (with --publish)", adaptUsage), cloudConfigSchema)
      : undefined;
    const r = await adaptModel({
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
      version: v.version,
      progress: !v.quiet,
      log: log(),
    });
    reportSkipped(r.skipped);
    const h = r.card.herd;
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    out(
      `model ${r.version} written to ${r.dir} in ${(r.ms / 1000).toFixed(0)} s: late frames identified ${pct(h.adapted.identificationRate)} (current ${h.currentModel}: ${pct(h.current.identificationRate)}), rank-1 ${pct(h.adapted.rank1)}, TAR @ FAR 1% ${pct(h.adapted.tarAtFar)}`,
    );
    if (cfg) {
      const p = publishModel({ key: loadOrCreateKey(cfg.keyFile) }, r.dir, cfg.modelsDir, r.version);
      out(`published ${p.version} (${p.bytes} bytes, sha256 ${p.sha256}) as ${p.file}`);
    }
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

const enrolUsage = [
  "barnlink model enrol --gallery DB (--data DIR | --pig ID IMAGE...) [--model DIR]",
  "  photos that do not decode or fail the quality gate (size, blur, exposure) are skipped and",
  "  listed with their path and code; the others are enrolled.",
].join("\n");
export const modelEnrolCmd: CommandSpec = {
  name: "model enrol",
  summary: "Enrol pigs in a gallery from labelled photos (bad photos skipped and listed)",
  usage: enrolUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        gallery: { type: "string" },
        data: { type: "string" },
        pig: { type: "string" },
        model: { type: "string" },
      },
      enrolUsage,
      true,
    );
    const r = await enrol({
      gallery: need(a.values.gallery, "--gallery DB", enrolUsage),
      data: a.values.data,
      pig: a.values.pig,
      images: a.positionals,
      model: a.values.model,
      log: log(),
    });
    reportSkipped(r.skipped);
    out(
      `enrolled ${r.pigs} pig${r.pigs === 1 ? "" : "s"} (${r.templates} templates, ${r.skipped.length} photos skipped)`,
    );
    return 0;
  },
};

const claimUsage = "barnlink model claim --gallery DB --photo FILE [--claim-id ID] [--model DIR]";
export const modelClaimCmd: CommandSpec = {
  name: "model claim",
  summary: "Check a dead animal's photo for a claim: who is it, enrolled, already claimed?",
  usage: claimUsage,
  async run(argv) {
    const a = args(
      argv,
      {
        gallery: { type: "string" },
        photo: { type: "string" },
        "claim-id": { type: "string" },
        model: { type: "string" },
      },
      claimUsage,
    );
    const r = await claimCheck({
      gallery: need(a.values.gallery, "--gallery DB", claimUsage),
      photo: need(a.values.photo, "--photo FILE", claimUsage),
      claimId: a.values["claim-id"],
      model: a.values.model,
      log: log(),
    });
    out(JSON.stringify(r));
    return r.repeated ? 1 : 0;
  },
};

const publishUsage = "barnlink model publish --config CLOUD.yaml --model DIR [--version V]";
export const modelPublishCmd: CommandSpec = {
  name: "model publish",
  summary: "Sign a model with the cloud key and store it for rollout (then POST /api/v1/models/{v}/rollout)",
  usage: publishUsage,
  async run(argv) {
    const a = args(
      argv,
      { config: { type: "string", short: "c" }, model: { type: "string" }, version: { type: "string" } },
      publishUsage,
    );
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", publishUsage), cloudConfigSchema);
    const p = publishModel(
      { key: loadOrCreateKey(cfg.keyFile) },
      need(a.values.model, "--model DIR", publishUsage),
      cfg.modelsDir,
      a.values.version,
    );
    out(`published ${p.version} (${p.bytes} bytes, sha256 ${p.sha256}) as ${p.file}`);
    return 0;
  },
};

const agentModelUsage = (verb: string) =>
  `barnlink model ${verb} --config AGENT.yaml${verb === "install" ? " --package FILE" : ""}`;
function modelsRoot(argv: string[], verb: string, extra = {}) {
  const a = args(argv, { config: { type: "string", short: "c" }, ...extra }, agentModelUsage(verb));
  const cfg = loadConfigFile(
    need(a.values.config as string | undefined, "--config FILE", agentModelUsage(verb)),
    agentConfigSchema(),
  );
  return { a, cfg, root: join(cfg.dataDir, "models") };
}

export const modelInstallCmd: CommandSpec = {
  name: "model install",
  summary:
    "Install a signed model package on this gateway (offline, e.g. from a USB stick); refuses a bad signature",
  usage: agentModelUsage("install"),
  async run(argv) {
    const { a, cfg, root } = modelsRoot(argv, "install", { package: { type: "string" } });
    const file = need(
      (a.values as { package?: string }).package,
      "--package FILE",
      agentModelUsage("install"),
    );
    const cur = installModel(readFileSync(file), cfg.cloud.publicKey, root);
    out(
      `model ${cur.version} installed (previous: ${cur.previous ?? "none"}); a running agent picks it up within its model check interval`,
    );
    return 0;
  },
};

export const modelRollbackCmd: CommandSpec = {
  name: "model rollback",
  summary: "Switch this gateway back to the previous model version",
  usage: agentModelUsage("rollback"),
  async run(argv) {
    const { root } = modelsRoot(argv, "rollback");
    const cur = rollbackModel(root);
    out(`model ${cur.version} is current again`);
    return 0;
  },
};

export const modelCurrentCmd: CommandSpec = {
  name: "model current",
  summary: "Print the model version this gateway uses",
  usage: agentModelUsage("current"),
  async run(argv) {
    const { root } = modelsRoot(argv, "current");
    const cur = currentModel(root);
    out(cur ? `${cur.version}\t${cur.dir}` : "the shipped model (no model installed by rollout)");
    return 0;
  },
};

/** `barnlink model` alone or `barnlink model --help`: the subcommands (the group is not a command of its own). */
export const modelGroupCmd: CommandSpec = {
  name: "model",
  summary: "Pig-face models: synth, train, adapt, eval, enrol, claim, publish, install, rollback, current",
  get usage() {
    return modelGroupUsage();
  },
  async run() {
    out(`${modelGroupCmd.summary}\nusage:\n${modelGroupUsage()}`);
    return 2;
  },
};

function modelGroupUsage(): string {
  const subs = modelCommands.filter((c) => c !== modelGroupCmd);
  const w = Math.max(...subs.map((c) => c.name.length));
  return [
    ...subs.map((c) => `  barnlink ${c.name.padEnd(w)}  ${c.summary}`),
    "barnlink model <subcommand> --help shows its options. Guide: docs/pig-faces.md",
  ].join("\n");
}

export const modelCommands: CommandSpec[] = [
  modelGroupCmd,
  modelAdaptCmd,
  modelSynthCmd,
  modelTrainCmd,
  modelEvalCmd,
  modelEnrolCmd,
  modelClaimCmd,
  modelPublishCmd,
  modelInstallCmd,
  modelRollbackCmd,
  modelCurrentCmd,
];
