import { readFileSync } from "node:fs";
import { systemClock } from "../core/clock.ts";
import { problemsFromZod } from "../core/config.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { fromRoot } from "../core/paths.ts";
import { ERR_DRIVER_PROBE_TIMEOUT } from "./errors.ts";
import { permissionHint, probeLines } from "./probe-hints.ts";
import { drivers, requireDriver, sourceConfigSchema } from "./registry.ts";
import type { DriverDeps, ProbeResult } from "./types.ts";

/** `barnlink drivers list`: one line per driver. */
export function driversList(): string {
  const width = Math.max(...drivers.map((d) => d.name.length));
  return drivers.map((d) => `${d.name.padEnd(width)}  ${d.description}`).join("\n");
}

export interface ProbeOptions {
  deps?: DriverDeps;
  log?: Logger;
  /** Upper bound per source, so one dead device cannot hang the command. */
  timeoutMs?: number;
}

/**
 * `barnlink drivers probe --config FILE`: reads every configured device once and prints values or
 * the precise error, for an installer standing in the barn. Takes the config's `sources:` list as
 * parsed YAML (unvalidated, so one bad source does not hide the others' results).
 */
export async function driversProbe(
  sources: unknown[],
  o: ProbeOptions = {},
): Promise<{ ok: boolean; text: string }> {
  const ctx = { clock: systemClock(), log: o.log ?? silentLogger };
  const schema = sourceConfigSchema();
  const lines: string[] = [];
  const errors: string[] = [];
  let ok = true;
  for (const [i, raw] of sources.entries()) {
    const parsed = schema.safeParse(raw, { reportInput: true });
    const label = (raw as { name?: unknown })?.name ?? `sources[${i}]`;
    if (!parsed.success) {
      ok = false;
      lines.push(`${String(label)}: config invalid`);
      for (const p of problemsFromZod(parsed.error)) lines.push(`  sources[${i}].${p.path}: ${p.message}`);
      continue;
    }
    const cfg = parsed.data;
    lines.push(`${cfg.name} (${cfg.driver})`);
    const source = requireDriver(cfg.driver).create(cfg, o.deps);
    if (!source.probe) {
      lines.push("  --   this driver has no probe; start the agent and watch its log");
      continue;
    }
    const results = await withTimeout(source.probe(ctx), o.timeoutMs ?? 60_000).catch(
      (e: Error): ProbeResult[] => [{ subject: cfg.name, ok: false, error: e.message }],
    );
    for (const r of results) {
      ok &&= r.ok;
      if (!r.ok) errors.push(r.error ?? "");
    }
    lines.push(...probeLines(results, formatValues));
  }
  if (sources.length === 0) lines.push("no sources configured");
  const hint = permissionHint(errors);
  if (hint) lines.push(hint);
  return { ok, text: lines.join("\n") };
}

function formatValues(v: Record<string, unknown> | undefined): string {
  return Object.entries(v ?? {})
    .map(([k, x]) => `${k}=${String(x)}`)
    .join("  ");
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(ERR_DRIVER_PROBE_TIMEOUT(`probe gave no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** `barnlink drivers sample NAME`: the driver's annotated sample config (drivers/NAME/sample.yaml). */
export function driverSample(name: string): string {
  requireDriver(name);
  return readFileSync(fromRoot("drivers", name, "sample.yaml"), "utf8");
}
