import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "../core/log.ts";
import { fromRoot } from "../core/paths.ts";
import { registerWasmTrainingKernels } from "./embed/wasm-grad.ts";
import { ERR_MODEL_RUNTIME } from "./errors.ts";
import * as tf from "./tf.ts";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface RuntimeInfo {
  backend: BackendName;
  /** Why a faster backend was skipped, for status pages and the model card. */
  notes: string[];
}

let current: Promise<RuntimeInfo> | undefined;
// Resolved from the package root, so it works from the sources and from dist/barnlink.mjs alike.
const require = createRequire(fromRoot("package.json"));

/** The wasm binaries ship inside the npm package; point at them as a file path (never fetched). */
export function wasmDir(): string {
  return join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/";
}

async function tryNode(notes: string[]): Promise<boolean> {
  try {
    // Optional dependency: its install downloads libtensorflow, so it is absent on offline machines.
    const name = "@tensorflow/tfjs-node";
    await import(/* @vite-ignore */ name);
    return await tf.setBackend("tensorflow");
  } catch (e) {
    notes.push(`tfjs-node unavailable: ${(e as Error).message.split("\n")[0]}`);
    return false;
  }
}

async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(wasmDir());
    const ok = await tf.setBackend("wasm");
    if (ok) registerWasmTrainingKernels();
    return ok;
  } catch (e) {
    notes.push(`wasm unavailable: ${(e as Error).message.split("\n")[0]}`);
    return false;
  }
}

/**
 * Selects the fastest backend that works here: tfjs-node, else wasm (single-threaded, SIMD in
 * Node), else the plain JS cpu backend. `prefer` forces one (benchmarks compare wasm with cpu).
 */
export async function initRuntime(opts: { prefer?: BackendName; log?: Logger } = {}): Promise<RuntimeInfo> {
  const notes: string[] = [];
  const order: BackendName[] = opts.prefer ? [opts.prefer] : ["tensorflow", "wasm", "cpu"];
  for (const b of order) {
    const ok =
      b === "tensorflow"
        ? await tryNode(notes)
        : b === "wasm"
          ? await tryWasm(notes)
          : await tf.setBackend("cpu");
    if (ok) {
      await tf.ready();
      const info = { backend: tf.getBackend() as BackendName, notes };
      opts.log?.info({ backend: info.backend, notes }, "tensorflow.js backend selected");
      return info;
    }
  }
  throw ERR_MODEL_RUNTIME(`no tensorflow.js backend could start: ${notes.join("; ")}`);
}

/** Initialises once per process (unless a backend is forced) and returns what is in use. */
export function ensureRuntime(opts: { prefer?: BackendName; log?: Logger } = {}): Promise<RuntimeInfo> {
  if (opts.prefer) {
    current = initRuntime(opts);
    return current;
  }
  current ??= initRuntime(opts);
  return current;
}

export { tf };
