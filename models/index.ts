/**
 * What the rest of barnlink wires from models/: the faces driver (registry), CLI commands,
 * rollout functions (MQTT/HTTP transport), the runtime report, and claim checks.
 */
export { checkClaim } from "./claims.ts";
export { claimCheck, enrol, modelEval, modelSynth, modelTrain } from "./cli.ts";
export * from "./errors.ts";
export { type FacesSource, type FacesStatus, facesDriver } from "./pipeline/driver.ts";
export { currentModel, installModel, readCurrent, rollbackModel } from "./rollout/install.ts";
export { decodeModelPackage, encodeModelPackage, type ModelPackage } from "./rollout/package.ts";
export { signModel } from "./rollout/sign.ts";
export { ensureRuntime, type RuntimeInfo } from "./runtime.ts";
export { SyntheticCamera } from "./synth/camera.ts";
export { generateDataset } from "./synth/dataset.ts";
