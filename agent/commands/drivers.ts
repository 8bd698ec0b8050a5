import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { ERR_CONFIG_READ } from "../../core/errors.ts";
import { createLogger } from "../../core/log.ts";
import { driverSample, driversList, driversProbe } from "../../drivers/cli.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";

export const driversListCmd: CommandSpec = {
  name: "drivers list",
  summary: "List the drivers a source can use, one line each",
  usage: "barnlink drivers list",
  async run(argv) {
    args(argv, {}, "barnlink drivers list");
    out(driversList());
    return 0;
  },
};

const probeUsage = "barnlink drivers probe --config FILE [--timeout 10s]";
export const driversProbeCmd: CommandSpec = {
  name: "drivers probe",
  summary: "Read every configured device once and print its values or the precise error (installers)",
  usage: probeUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" }, timeout: { type: "string" } }, probeUsage);
    const file = need(a.values.config, "--config FILE", probeUsage);
    let doc: { sources?: unknown };
    try {
      doc = (parse(readFileSync(file, "utf8")) ?? {}) as { sources?: unknown };
    } catch (e) {
      throw ERR_CONFIG_READ(`${file}: ${(e as Error).message.split("\n")[0]}`);
    }
    const sources = Array.isArray(doc.sources) ? doc.sources : [];
    if (sources.length === 0) throw ERR_CONFIG_READ(`${file}: no sources to probe (add a sources: list)`);
    const timeoutMs = a.values.timeout
      ? Number.parseInt(a.values.timeout, 10) * (a.values.timeout.endsWith("ms") ? 1 : 1000)
      : undefined;
    const r = await driversProbe(sources, {
      log: createLogger("probe", process.env.BARNLINK_LOG ?? "error"),
      timeoutMs,
    });
    out(r.text);
    return r.ok ? 0 : 1;
  },
};

const sampleUsage = "barnlink drivers sample NAME";
export const driversSampleCmd: CommandSpec = {
  name: "drivers sample",
  summary: "Print a driver's annotated sample source config (paste it under sources:)",
  usage: sampleUsage,
  async run(argv) {
    const a = args(argv, {}, sampleUsage, true);
    out(driverSample(need(a.positionals[0], "NAME (see barnlink drivers list)", sampleUsage)));
    return 0;
  },
};
