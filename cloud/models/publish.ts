import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ERR_NOT_FOUND, ERR_VALIDATION } from "../../core/errors.ts";
import { encodeModelPackage, signModel } from "../../sync/model-package.ts";
import type { CloudContext } from "../context.ts";

export interface PublishedModel {
  version: string;
  sha256: string;
  bytes: number;
  file: string;
}

const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Signs a model directory with the cloud's key and stores the package in `modelsDir` as
 * `<version>.pkg`. Agents fetch it by URL and install it only if the signature and every file's
 * hash verify (models/rollout/install.ts), so the file itself needs no protection in transit.
 */
export function publishModel(
  ctx: Pick<CloudContext, "key">,
  modelDir: string,
  modelsDir: string,
  version?: string,
): PublishedModel {
  if (!existsSync(join(modelDir, "model.json")))
    throw ERR_VALIDATION(`${modelDir}: not a model directory (no model.json)`);
  const pkg = signModel(modelDir, ctx.key.privateKey, version);
  const bytes = encodeModelPackage(pkg);
  mkdirSync(modelsDir, { recursive: true });
  const file = join(modelsDir, `${pkg.manifest.version}.pkg`);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return {
    version: pkg.manifest.version,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.length,
    file,
  };
}

export function readPackage(modelsDir: string, version: string): Buffer {
  if (!VERSION.test(version))
    throw ERR_VALIDATION(`version: ${JSON.stringify(version)} is not a model version`);
  const file = join(modelsDir, `${version}.pkg`);
  if (!existsSync(file)) throw ERR_NOT_FOUND(`no published model ${version}`);
  return readFileSync(file);
}

export function listPackages(modelsDir: string): Array<{ version: string; sha256: string; bytes: number }> {
  if (!existsSync(modelsDir)) return [];
  return readdirSync(modelsDir)
    .filter((f) => f.endsWith(".pkg"))
    .map((f) => {
      const b = readFileSync(join(modelsDir, f));
      return {
        version: f.slice(0, -4),
        sha256: createHash("sha256").update(b).digest("hex"),
        bytes: b.length,
      };
    });
}

/** Tells devices to install a published version: a signed `model.install` command each. */
export async function rollOut(
  ctx: CloudContext,
  devices: string[],
  m: { version: string; sha256: string },
  baseUrl: string,
) {
  for (const d of devices) {
    await ctx.sendCommand(d, "model.install", {
      version: m.version,
      sha256: m.sha256,
      url: `${baseUrl.replace(/\/$/, "")}/models/${m.version}.pkg`,
    });
  }
}
