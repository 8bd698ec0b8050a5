import { existsSync } from "node:fs";
import { join } from "node:path";
import { fromRoot } from "../../core/paths.ts";
import { currentModel } from "../rollout/install.ts";

/** The model shipped in the repository (trained by `modelTrain` on synthetic pigs). */
export const PRETRAINED_DIR = fromRoot("models/pretrained");

/**
 * Resolves a configured model path: a models root with current.json, or a model directory itself.
 * A models root that rollout has not filled yet (no current.json, no model.json) means the shipped
 * model until the first install.
 */
export function resolveModelDir(path: string | undefined): string {
  const p = path ?? PRETRAINED_DIR;
  if (existsSync(join(p, "current.json"))) return currentModel(p)!.dir;
  if (!existsSync(join(p, "model.json")) && !existsSync(join(p, "versions"))) return PRETRAINED_DIR;
  return p;
}
