import { createHash, type KeyObject } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { canonicalBytes } from "../../core/canonical.ts";
import { signBytes } from "../../core/keys.ts";
import { readCard } from "../embed/card.ts";
import type { ModelManifest, ModelPackage } from "./package.ts";

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
    version: version ?? readCard(dir)?.version ?? basename(dir),
    createdAt: new Date().toISOString(),
    files: entries,
  };
  const signature = signBytes(key, canonicalBytes(manifest)).toString("base64");
  return { manifest, signature, files };
}
