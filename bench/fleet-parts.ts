// Shared by bench/fleet.ts and bench/fleet-backlog.ts: cloud instances as processes from the
// production build, on a Mosquitto of their own and a fresh PostgreSQL schema, and CPU from /proc.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { buildCli, ROOT } from "../bin/build.js";
import { type Db, openDb } from "../cloud/db/connect.ts";
import { migrateToLatest } from "../cloud/db/migrate.ts";
import { registerDevice } from "../cloud/devices.ts";
import { loadOrCreateKey } from "../core/keys.ts";
import { freePort, type MosquittoHandle, startMosquitto } from "../test/helpers/mosquitto.ts";
import { freshDb, tmpDir } from "../test/helpers/services.ts";

export interface BenchLine {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

export const lineOf =
  (bench: string) =>
  (metric: string, value: number, unit: string, baseline?: number): BenchLine => ({
    bench,
    metric,
    value,
    unit,
    ...(baseline === undefined || baseline === 0
      ? {}
      : { baseline, ratio: Number((value / baseline).toFixed(3)) }),
  });

/** CPU seconds used so far by a process (utime + stime from /proc). */
export function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
/** CPU seconds of every process whose name starts with `name` (PostgreSQL is shared: an upper bound). */
export function cpuOfNamed(name: string): number {
  let n = 0;
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").startsWith(name)) n += cpuOf(Number(p));
    } catch {}
  }
  return n;
}
/** The 1-minute load average (shown beside every figure: the machine is shared). */
export const load1 = (): number => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);

let bundle: Promise<string> | undefined;
/** The production build of the CLI (bin/build.js), once per bench run; BENCH_FLEET_RUNTIME=tsx runs the sources. */
export function cloudEntry(): Promise<string> {
  if (process.env.BENCH_FLEET_RUNTIME === "tsx") return Promise.resolve(join(ROOT, "bin/barnlink.js"));
  bundle ??= buildCli(join(ROOT, "node_modules/.cache/barnlink-bench-fleet/barnlink.mjs"));
  return bundle;
}
/** Node flags for the cloud processes (BENCH_FLEET_CLOUD_FLAGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const CLOUD_FLAGS = (process.env.BENCH_FLEET_CLOUD_FLAGS ?? "").split(" ").filter(Boolean);

export interface Cloud {
  child: ChildProcess;
  port: number;
  config: string;
  /** Resolves when the process exits (for a failure check: it must not exit by itself). */
  exited: Promise<number | null>;
}

export interface Deployment {
  broker: MosquittoHandle;
  /** The schema's database (registering devices, counting what was stored). */
  db: Db;
  clouds: Cloud[];
  register(id: string, pub: string): Promise<void>;
  /** Starts cloud instance i (1-based) again after `stopCloud` (its persistent session kept). */
  startCloud(i: number): Promise<Cloud>;
  stopCloud(c: Cloud): Promise<void>;
  stop(): Promise<void>;
}

export async function waitHealthy(port: number, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return Date.now();
    if (Date.now() > end) throw new Error(`cloud on ${port} did not answer /healthz`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A Mosquitto of its own (no queue limit), a fresh PostgreSQL schema, N cloud instances as processes
 * (the production build, on a shared subscription when N > 1, or each on every device with
 * `routing: "affine"`). `extra` is merged into each config.
 */
export async function deploy(
  instances: number,
  extra: Record<string, unknown> = {},
  o: { start?: boolean; routing?: "broker" | "affine" } = {},
): Promise<Deployment> {
  const affine = o.routing === "affine";
  const broker = await startMosquitto(["max_queued_messages 0", "max_inflight_messages 0"]);
  const fresh = await freshDb("postgres");
  const dir = tmpDir("barnlink-fleet-");
  const url = `${fresh.url}?options=${encodeURIComponent(`-c search_path=${fresh.schema}`)}`;
  const db = openDb(url);
  await migrateToLatest(db);
  const keyFile = join(dir, "cloud.key");
  loadOrCreateKey(keyFile);
  const entry = await cloudEntry();
  const ports: number[] = [];
  const clouds: Cloud[] = [];
  const start = async (i: number): Promise<Cloud> => {
    ports[i] ??= await freePort();
    const port = ports[i]!;
    const config = join(dir, `cloud-${i}.yaml`);
    writeFileSync(
      config,
      stringify({
        instance: `fleet-${i}`,
        database: { url },
        mqtt: { url: broker.url, ...(instances > 1 && !affine ? { sharedGroup: "fleet" } : {}) },
        http: { port },
        keyFile,
        ...extra,
        ...(affine ? { ingest: { ...((extra.ingest as object) ?? {}), routing: "affine" } } : {}),
      }),
    );
    const child = spawn(process.execPath, [...CLOUD_FLAGS, entry, "cloud", "run", "--config", config], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const c = { child, port, config, exited };
    clouds.push(c);
    await waitHealthy(port);
    return c;
  };
  const stopCloud = async (c: Cloud) => {
    if (c.child.exitCode === null) c.child.kill("SIGTERM");
    await c.exited;
    clouds.splice(clouds.indexOf(c), 1);
  };
  if (o.start !== false) for (let i = 1; i <= instances; i++) await start(i);
  return {
    broker,
    db,
    clouds,
    register: (id, pub) => registerDevice(db, id, pub, "bench", Date.now()).then(() => {}),
    startCloud: start,
    stopCloud,
    async stop() {
      await Promise.all([...clouds].map(stopCloud));
      await db.close();
      await fresh.drop();
      await broker.stop();
    },
  };
}
