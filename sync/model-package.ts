import { createHash, type KeyObject } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { canonicalBytes } from "../core/canonical.ts";
import { signBytes } from "../core/keys.ts";

/*
 * The signed model package: a contract between the cloud (which packs and signs it,
 * cloud/models/publish.ts) and the gateway (which verifies and installs it, models/rollout/), so it
 * lives here beside the other wire formats that both sides import.
 */

/** A file name inside a model directory: no paths, so a package cannot write outside its folder. */
const fileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);

export const modelManifest = z.strictObject({
  name: z.literal("pigface"),
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  createdAt: z.string(),
  files: z
    .array(
      z.strictObject({ path: fileName, sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int() }),
    )
    .min(1),
});
export type ModelManifest = z.infer<typeof modelManifest>;

/**
 * What the cloud publishes and the agent installs: the manifest, the cloud's Ed25519 signature
 * over its canonical JSON, and the files (base64). One JSON document, so it travels as one HTTP
 * body or MQTT payload.
 */
export const modelPackage = z.strictObject({
  manifest: modelManifest,
  signature: z.string().max(200),
  files: z.record(fileName, z.string()),
});
export type ModelPackage = z.infer<typeof modelPackage>;

export function encodeModelPackage(p: ModelPackage): Buffer {
  return Buffer.from(JSON.stringify(p));
}

/** The version a model directory's card.json names (models/embed/card.ts writes it), if any. */
function cardVersion(dir: string): string | undefined {
  const f = join(dir, "card.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as { version?: string }).version : undefined;
}

/** Cloud side: packs every file of a model directory and signs the manifest with the cloud key. */
export function signModel(dir: string, key: KeyObject, version?: string): ModelPackage {
  const names = readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isFile() && !f.startsWith("."))
    .sort();
  const files: Record<string, string> = {};
  const entries: ModelManifest["files"] = [];
  for (const f of names) {
    const b = readFileSync(join(dir, f));
    files[f] = b.toString("base64");
    entries.push({ path: f, sha256: createHash("sha256").update(b).digest("hex"), size: b.length });
  }
  const manifest: ModelManifest = {
    name: "pigface",
    version: version ?? cardVersion(dir) ?? basename(dir),
    createdAt: new Date().toISOString(),
    files: entries,
  };
  const signature = signBytes(key, canonicalBytes(manifest)).toString("base64");
  return { manifest, signature, files };
}
