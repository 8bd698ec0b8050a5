import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "./mosquitto.ts";

const ROOT = join(import.meta.dirname, "../..");

/** A cloud instance run as `barnlink cloud run` in a process of its own (so it can be SIGKILLed). */
export interface CloudProcess {
  name: string;
  child: ChildProcess;
  port: number;
  /** Its stdout and stderr. */
  log: string;
  health(): Promise<{ mqtt: boolean; ingest: { batches: number } } | undefined>;
}

/**
 * Starts `barnlink cloud run` (from the sources) with `config` and `http.port` set to a free port,
 * its config and log as NAME.yaml and NAME.log in `dir`. Does not wait for it: poll `health()`.
 */
export async function spawnCloud(
  dir: string,
  name: string,
  config: Record<string, unknown>,
): Promise<CloudProcess> {
  const port = await freePort();
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(cfg, stringify({ ...config, http: { port } }));
  const log = join(dir, `${name}.log`);
  const out = openSync(log, "a");
  const child = spawn(process.execPath, [join(ROOT, "bin/barnlink.js"), "cloud", "run", "--config", cfg], {
    cwd: ROOT,
    stdio: ["ignore", out, out],
    env: { ...process.env, BARNLINK_LOG: "info" },
  });
  const health = () =>
    fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.json() as Promise<{ mqtt: boolean; ingest: { batches: number } }>,
      () => undefined,
    );
  return { name, child, port, log, health };
}

/** SIGKILLs every cloud process still running (an afterAll's clean-up). */
export function killClouds(clouds: CloudProcess[]): void {
  for (const c of clouds)
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
}

/** The last 3 KiB of each cloud's log, for a failure's message. */
export function cloudLogs(clouds: CloudProcess[]): string {
  return clouds
    .map((c) => `${c.name}.log (last 3 KiB):\n${readFileSync(c.log, "utf8").slice(-3072)}`)
    .join("\n");
}
