import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { currentModel } from "../rollout/install.ts";

/** The model shipped in the repository (trained by `modelTrain` on synthetic pigs). */
export const PRETRAINED_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "pretrained");

/** Resolves a configured model path: a models root with current.json, or a model directory itself. */
export function resolveModelDir(path: string | undefined): string {
  const p = path ?? PRETRAINED_DIR;
  if (existsSync(join(p, "current.json"))) return currentModel(p)!.dir;
  return p;
}
