import { type ModelPackage, modelPackage } from "../../sync/model-package.ts";
import { ERR_MODEL_PACKAGE } from "../errors.ts";

export {
  encodeModelPackage,
  type ModelManifest,
  type ModelPackage,
  modelManifest,
  modelPackage,
} from "../../sync/model-package.ts";

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
