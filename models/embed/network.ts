import * as tf from "../tf.ts";
import { INPUT_SIZE } from "./preprocess.ts";

export const EMBED_DIM = 64;

/**
 * A small strided CNN: four 3×3 stride-2 convolutions (64→4 px) and a dense projection, ~110k
 * parameters. No pooling or batch-norm layers, so every kernel it needs for training exists on the
 * wasm backend once Conv2DBackpropFilter is registered (embed/wasm-grad.ts). Flatten, not global
 * pooling, keeps where on the face each marking is.
 */
export function buildNetwork(dim = EMBED_DIM, size = INPUT_SIZE): tf.Sequential {
  const m = tf.sequential({ name: "pigface" });
  const filters = [16, 32, 48, 64];
  filters.forEach((f, i) => {
    m.add(
      tf.layers.conv2d({
        filters: f,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        activation: "relu",
        kernelInitializer: "heNormal",
        ...(i === 0 ? { inputShape: [size, size, 3] } : {}),
      }),
    );
  });
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: dim, kernelInitializer: "glorotNormal" }));
  return m;
}

/** Row-wise L2 normalisation: embeddings compare by cosine, which is then a dot product. */
export function l2normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.add(tf.norm(x, "euclidean", 1, true), 1e-8)) as tf.Tensor2D);
}
