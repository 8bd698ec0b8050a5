import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCard, writeCard } from "./embed/card.ts";
import { PRETRAINED_DIR } from "./pipeline/model-dir.ts";
import { generateDataset } from "./synth/dataset.ts";
import { modelTrain } from "./train-model.ts";

/**
 * Rebuilds models/pretrained/: a synthetic herd (seed 11, pigs 1..N) through the same `modelTrain`
 * a farm uses on its own photos. Tests and the demo evaluate on other pigs (other seeds), so the
 * shipped metrics are open-set. Run: npx tsx models/train-pretrained.ts [pigs] [perPig] [epochs] [margin] [scale] [outDir]
 */
export async function trainPretrained(
  pigs = 300,
  perPig = 12,
  epochs = 24,
  margin = 0.4,
  scale = 24,
  target = PRETRAINED_DIR,
): Promise<void> {
  const work = join(tmpdir(), `barnlink-pretrain-${process.pid}`);
  const data = join(work, "data");
  await generateDataset({ dir: data, pigs, perPig, seed: 11 });
  const res = await modelTrain({
    data,
    out: join(work, "out"),
    epochs,
    margin,
    scale,
    validation: 0.1,
    version: "pigface-synth-1",
  });
  mkdirSync(target, { recursive: true });
  for (const f of readdirSync(res.dir)) copyFileSync(join(res.dir, f), join(target, f));
  const card = readCard(target)!;
  card.data.dir = `synthetic: generateDataset({ pigs: ${pigs}, perPig: ${perPig}, seed: 11 })`;
  writeCard(target, card);
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`${JSON.stringify(res.card.metrics)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [p, k, e, m, s, target] = process.argv.slice(2);
  const n = (x: string | undefined) => (x ? Number(x) : undefined);
  await trainPretrained(n(p), n(k), n(e), n(m), n(s), target);
}
