import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ERR_MODEL_LOAD } from "../errors.ts";
import * as tf from "../tf.ts";
import { l2normalise } from "./network.ts";
import { INPUT_SIZE, standardise } from "./preprocess.ts";

/** A loaded embedding network: face crops in, L2-normalised vectors out. */
export class Embedder {
  readonly dim: number;
  /** The layers in order, when the network is a plain stack of them (see directLayers). */
  private readonly stack: tf.layers.Layer[] | undefined;
  constructor(
    readonly net: tf.LayersModel,
    readonly size = INPUT_SIZE,
    readonly version = "unversioned",
  ) {
    const out = net.outputs[0]!.shape;
    this.dim = out[out.length - 1] as number;
    this.stack = directLayers(net);
  }

  /** Embeds n face crops (RGB bytes, size² × 3 each) into an n × dim Float32Array. */
  embed(pixels: Uint8Array, n: number): Float32Array {
    const per = this.size * this.size * 3;
    const x = new Float32Array(n * per);
    for (let i = 0; i < n; i++) standardise(pixels.subarray(i * per, (i + 1) * per), x, i * per);
    const out = tf.tidy(() => {
      let t: tf.Tensor = tf.tensor4d(x, [n, this.size, this.size, 3]);
      if (this.stack) for (const l of this.stack) t = l.call(t, {}) as tf.Tensor;
      else t = this.net.predict(t) as tf.Tensor;
      return l2normalise(t as tf.Tensor2D);
    });
    const v = out.dataSync() as Float32Array;
    out.dispose();
    return v;
  }

  /** Embeds in batches (bounded memory on a Pi). */
  embedMany(pixels: Uint8Array, n: number, batch = 64): Float32Array {
    const per = this.size * this.size * 3;
    const out = new Float32Array(n * this.dim);
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      out.set(this.embed(pixels.subarray(i * per, (i + k) * per), k), i * this.dim);
    }
    return out;
  }

  dispose(): void {
    this.net.dispose();
  }
}

/**
 * Layers whose `call` at inference is the same function as predict's: no training-time behaviour
 * beyond what `training: false` (the default of an empty kwargs) gives, one tensor in and out.
 */
const STACKABLE = new Set([
  "Conv2D",
  "DepthwiseConv2D",
  "SeparableConv2D",
  "Dense",
  "Flatten",
  "Reshape",
  "MaxPooling2D",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "GlobalMaxPooling2D",
  "Activation",
  "ReLU",
  "ZeroPadding2D",
  "BatchNormalization",
  "Dropout",
]);

/**
 * A Sequential network of STACKABLE layers is run layer by layer (`layer.call`), not through
 * `predict`: the same kernels on the same tensors (the test compares the outputs bit for bit), without
 * predict's per-call bookkeeping (input checks, the execution plan, name scopes), which was about a
 * quarter of the embedding's CPU on a gateway (issue #15). Anything else keeps `predict`.
 */
export function directLayers(net: tf.LayersModel): tf.layers.Layer[] | undefined {
  if (net.getClassName() !== "Sequential") return undefined;
  const layers = net.layers;
  if (layers.length === 0 || !layers.every((l) => STACKABLE.has(l.getClassName()))) return undefined;
  return layers;
}

/** Writes the network as tfjs layers format: model.json + weights.bin. Returns the file names. */
export async function saveNetwork(net: tf.LayersModel, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await net.save(
    tf.io.withSaveHandler(async (a) => {
      const data = Buffer.from(a.weightData as ArrayBuffer);
      writeFileSync(join(dir, "weights.bin"), data);
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ["weights.bin"], weights: a.weightSpecs }],
      };
      writeFileSync(join(dir, "model.json"), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  return ["model.json", "weights.bin"];
}

/** Loads model.json + weights from a model directory (no network access: files only). */
export async function loadEmbedder(dir: string): Promise<Embedder> {
  try {
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    const manifest = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    const buffers = manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
    const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;
    const net = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: manifest.flatMap((g) => g.weights),
        weightData,
      }),
    );
    const shape = net.inputs[0]!.shape;
    let version = "unversioned";
    try {
      version = JSON.parse(readFileSync(join(dir, "card.json"), "utf8")).version ?? version;
    } catch {
      // a model without a card (a bare export) still loads; the hash below names it instead
      version = `sha256:${createHash("sha256").update(Buffer.concat(buffers)).digest("hex").slice(0, 12)}`;
    }
    return new Embedder(net, (shape[1] as number) ?? INPUT_SIZE, version);
  } catch (e) {
    throw ERR_MODEL_LOAD(`cannot load face model from ${dir}: ${(e as Error).message}`, { dir }, e);
  }
}
