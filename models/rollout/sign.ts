/** Cloud side: packs every file of a model directory and signs the manifest (sync/model-package.ts). */
export { signModel } from "../../sync/model-package.ts";
