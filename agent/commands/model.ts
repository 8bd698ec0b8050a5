import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { publishModel } from "../../cloud/models/publish.ts";
import { loadConfigFile } from "../../core/config.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { claimCheck, enrol, modelSynth } from "../../models/cli.ts";
import { currentModel, installModel, rollbackModel } from "../../models/rollout/install.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";
import { int, log, modelAdaptCmd, modelEvalCmd, modelTrainCmd, reportSkipped } from "./model-learn.ts";

import { modelUploadCmd, modelUploadDeleteCmd, modelUploadsCmd } from "./model-upload.ts";

export { modelAdaptCmd, modelEvalCmd, modelTrainCmd };

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

// `barnlink model` alone or with --help: the dispatcher lists the group (agent/cli.ts, group-help.ts).
export const modelCommands: CommandSpec[] = [
  modelSynthCmd,
  modelTrainCmd,
  modelAdaptCmd,
  modelUploadCmd,
  modelUploadsCmd,
  modelUploadDeleteCmd,
  modelEvalCmd,
  modelEnrolCmd,
  modelClaimCmd,
  modelPublishCmd,
  modelInstallCmd,
  modelRollbackCmd,
  modelCurrentCmd,
];
