import { z } from "zod";
import { ERR_MODEL_PACKAGE } from "../errors.ts";

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

export function decodeModelPackage(bytes: Buffer | string | ModelPackage): ModelPackage {
  let raw: unknown = bytes;
  if (typeof bytes === "string" || Buffer.isBuffer(bytes)) {
    try {
      raw = JSON.parse(bytes.toString());
    } catch (e) {
      throw ERR_MODEL_PACKAGE(`model package is not JSON: ${(e as Error).message}`);
    }
  }
  const r = modelPackage.safeParse(raw);
  if (!r.success)
    throw ERR_MODEL_PACKAGE(`model package invalid: ${r.error.issues[0]?.message}`, r.error.issues);
  return r.data;
}
