/**
 * TensorFlow.js as barnlink uses it: core, layers and the cpu fallback, without the umbrella
 * package's WebGL backend, converter and data modules (useless in Node, ~13 MB of RSS on a Pi).
 * These are the exact versions @tensorflow/tfjs 4.22.0 installs.
 */
import "@tensorflow/tfjs-backend-cpu";

export * from "@tensorflow/tfjs-core";
export * from "@tensorflow/tfjs-layers";
