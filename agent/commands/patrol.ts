import { readFileSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { loadConfigFile } from "../../core/config.ts";
import { ERR_CONFIG_READ } from "../../core/errors.ts";
import { calibrate, calibrationInput } from "../../drivers/patrol/calibrate.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

const usage =
  "barnlink patrol calibrate --snapshot IMAGE --regions FILE.yaml [--out checks.yaml] [--annotated out.png]";

/** `barnlink patrol calibrate`: a checkpoint's camera checks from a snapshot of its healthy panel. */
export const patrolCalibrate: CommandSpec = {
  name: "patrol calibrate",
  summary:
    "Read a checkpoint's regions on a snapshot, save what a healthy panel shows as the checks' expectations",
  usage,
  async run(argv) {
    const a = args(
      argv,
      {
        snapshot: { type: "string" },
        regions: { type: "string" },
        out: { type: "string" },
        annotated: { type: "string" },
      },
      usage,
    );
    const snapshotFile = need(a.values.snapshot, "--snapshot IMAGE", usage);
    const input = loadConfigFile(need(a.values.regions, "--regions FILE.yaml", usage), calibrationInput);
    let snapshot: Buffer;
    try {
      snapshot = readFileSync(snapshotFile);
    } catch (e) {
      throw ERR_CONFIG_READ(`cannot read ${snapshotFile}: ${(e as Error).message}`);
    }
    const r = await calibrate(snapshot, input.checks);
    for (const s of r.seen) out(`${s.id.padEnd(16)} ${s.seen}`);
    const yaml = stringify({ checks: r.checks }, { flow: false });
    if (a.values.out) {
      writeFileSync(
        a.values.out,
        `# barnlink patrol calibrate ${snapshotFile}: paste under the checkpoint in the plan\n${yaml}`,
      );
      out(`checks written to ${a.values.out}`);
    } else out(yaml);
    if (a.values.annotated) {
      writeFileSync(a.values.annotated, r.annotated);
      out(`regions drawn on ${a.values.annotated}`);
    }
    return 0;
  },
};
