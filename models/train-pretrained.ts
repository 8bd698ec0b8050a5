import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PRETRAINED_DIR } from "./pipeline/model-dir.ts";
import { generateDataset } from "./synth/dataset.ts";
import { modelTrain } from "./train-model.ts";

/**
 * Rebuilds models/pretrained/: a synthetic herd (seed 11, pigs 1..N) through the same `modelTrain`
 * a farm uses on its own photos. Tests and the demo evaluate on other pigs (other seeds), so the
 * shipped metrics are open-set. Run: npx tsx models/train-pretrained.ts [pigs] [perPig] [epochs]
 */
export async function trainPretrained(pigs = 300, perPig = 12, epochs = 20): Promise<void> {
  const work = join(tmpdir(), `barnlink-pretrain-${process.pid}`);
  const data = join(work, "data");
  await generateDataset({ dir: data, pigs, perPig, seed: 11 });
  const res = await modelTrain({
    data,
    out: join(work, "out"),
    epochs,
    validation: 0.1,
    version: "pigface-synth-1",
  });
  mkdirSync(PRETRAINED_DIR, { recursive: true });
  for (const f of readdirSync(res.dir)) copyFileSync(join(res.dir, f), join(PRETRAINED_DIR, f));
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`${JSON.stringify(res.card.metrics)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [p, k, e] = process.argv.slice(2).map(Number);
  await trainPretrained(p || undefined, k || undefined, e || undefined);
}
