import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { stringify } from "yaml";
import { openDb } from "../cloud/db/connect.ts";
import { migrateToLatest } from "../cloud/db/migrate.ts";
import { registerDevice } from "../cloud/devices.ts";
import { generateKeyPair, loadOrCreateKey } from "../core/keys.ts";
import { CLI_ENTRY } from "../core/paths.ts";
import { encodeBatch } from "../sync/codec.ts";
import { runFleet } from "../sync/fleet.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { upTopic } from "../sync/topics.ts";
import { freePort, startMosquitto } from "../test/helpers/mosquitto.ts";
import { freshDb, tmpDir } from "../test/helpers/services.ts";

export interface BenchLine {
  bench: "fleet";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const line = (metric: string, value: number, unit: string, baseline?: number): BenchLine => ({
  bench: "fleet",
  metric,
  value,
  unit,
  ...(baseline === undefined || baseline === 0
    ? {}
    : { baseline, ratio: Number((value / baseline).toFixed(3)) }),
});

const SIZES = (process.env.BENCH_FLEET_SIZES ?? "100,1000").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_FLEET_SECONDS ?? 30);
const SAT_DEVICES = Number(process.env.BENCH_FLEET_SAT_DEVICES ?? 400);
const INSTANCES = (process.env.BENCH_FLEET_INSTANCES ?? "1,2").split(",").map(Number);

/** CPU seconds used so far by a process (utime + stime from /proc). */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
/** CPU seconds of every PostgreSQL process on the machine (the server is shared: an upper bound). */
function postgresCpu(): number {
  let n = 0;
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").startsWith("postgres")) n += cpuOf(Number(p));
    } catch {}
  }
  return n;
}

interface Deployment {
  brokerUrl: string;
  clouds: ChildProcess[];
  keyB64: string;
  register(id: string, pub: string): Promise<void>;
  stop(): Promise<void>;
}

/** A Mosquitto of its own (no queue limit), a fresh PostgreSQL schema, N cloud instances as processes. */
async function deploy(instances: number): Promise<Deployment> {
  const broker = await startMosquitto(["max_queued_messages 0", "max_inflight_messages 0"]);
  const fresh = await freshDb("postgres");
  const dir = tmpDir("barnlink-fleet-");
  const url = `${fresh.url}?options=${encodeURIComponent(`-c search_path=${fresh.schema}`)}`;
  const db = openDb(url);
  await migrateToLatest(db);
  const keyFile = join(dir, "cloud.key");
  const key = loadOrCreateKey(keyFile);
  const clouds: ChildProcess[] = [];
  for (let i = 1; i <= instances; i++) {
    const port = await freePort();
    const cfg = join(dir, `cloud-${i}.yaml`);
    writeFileSync(
      cfg,
      stringify({
        instance: `fleet-${i}`,
        database: { url },
        mqtt: { url: broker.url, ...(instances > 1 ? { sharedGroup: "fleet" } : {}) },
        http: { port },
        keyFile,
      }),
    );
    const child = spawn(process.execPath, [CLI_ENTRY, "cloud", "run", "--config", cfg], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    clouds.push(child);
    const end = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > end) throw new Error(`cloud ${i} did not start`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    brokerUrl: broker.url,
    clouds,
    keyB64: key.publicKeyB64,
    register: (id, pub) => registerDevice(db, id, pub, "bench", Date.now()).then(() => {}),
    async stop() {
      for (const c of clouds) c.kill("SIGTERM");
      await Promise.all(
        clouds.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once("exit", r)))),
      );
      await db.close();
      await fresh.drop();
      await broker.stop();
    },
  };
}

/** The broker's own ceiling with the same payloads: one publisher, one subscriber, QoS 1, no database. */
async function brokerCeiling(batches: number): Promise<number> {
  const broker = await startMosquitto(["max_queued_messages 0", "max_inflight_messages 0"]);
  try {
    const sub = await mqtt.connectAsync(broker.url, { clientId: "ceiling-sub" });
    let got = 0;
    const done = new Promise<void>((r) =>
      sub.on("message", () => {
        if (++got === batches) r();
      }),
    );
    await sub.subscribeAsync("barnlink/v1/+/up", { qos: 1 });
    const pub = await mqtt.connectAsync(broker.url, { clientId: "ceiling-pub" });
    const k = generateKeyPair();
    const w = new StreamWriter("ceil", "load.0", k);
    const frames = Array.from({ length: batches }, (_, i) =>
      encodeBatch(
        batchOf("ceil", [
          w.next([
            {
              t: { wall: 1e12 + i, boot: "b", mono: i, synced: true },
              kind: "reading",
              body: { value: i % 1000, unit: "degC" },
            },
          ]),
        ]),
      ),
    );
    const t0 = performance.now();
    await Promise.all(frames.map((f) => pub.publishAsync(upTopic("ceil"), f, { qos: 1 })));
    await done;
    const rate = batches / ((performance.now() - t0) / 1000);
    await pub.endAsync();
    await sub.endAsync();
    return rate;
  } finally {
    await broker.stop();
  }
}

async function fleetRun(instances: number, devices: number, rate: number, batchEveryMs: number) {
  const d = await deploy(instances);
  try {
    const cpu0 = d.clouds.map((c) => cpuOf(c.pid!));
    const pg0 = postgresCpu();
    const t0 = Date.now();
    const r = await runFleet({
      url: d.brokerUrl,
      devices,
      rate,
      batchEveryMs,
      durationMs: SECONDS * 1000,
      prefix: `f${instances}x${devices}`,
      cloudKey: undefined,
      register: d.register,
    });
    const secs = (Date.now() - t0) / 1000;
    const cloudCpu = d.clouds.reduce((n, c, i) => n + cpuOf(c.pid!) - cpu0[i]!, 0) / secs;
    return { r, cloudCpu, pgCpu: (postgresCpu() - pg0) / secs };
  } finally {
    await d.stop();
  }
}

/**
 * The cloud under a fleet of gateways (sync/fleet.ts, as `barnlink loadgen`): each of BENCH_FLEET_SIZES
 * gateways sends one reading a second for BENCH_FLEET_SECONDS; committed batches/s and send → signed
 * commit ack lag. Then a saturating run (BENCH_FLEET_SAT_DEVICES gateways, a batch every 50 ms each)
 * with 1 and 2 instances on shared subscriptions. The ratio is to the broker's own throughput with the
 * same payloads, measured in the same run. Cloud and PostgreSQL CPU are cores busy on average
 * (PostgreSQL: every postgres process on the machine). Needs PostgreSQL and the mosquitto binary.
 */
export async function benchFleet(): Promise<BenchLine[]> {
  const out: BenchLine[] = [];
  const ceiling = await brokerCeiling(20_000);
  out.push(line("broker ceiling (QoS 1 relay, same payloads)", ceiling, "batches/s"));
  for (const n of SIZES) {
    const { r, cloudCpu, pgCpu } = await fleetRun(1, n, 1, 1000);
    const bps = r.batchesAcked / r.seconds;
    out.push(line(`${n} gateways x 1 rec/s: committed`, bps, "batches/s", n));
    out.push(line(`${n} gateways: lag p50`, r.latencyP50Ms ?? -1, "ms"));
    out.push(line(`${n} gateways: lag p99`, r.latencyP99Ms ?? -1, "ms"));
    out.push(line(`${n} gateways: unacked at end`, r.batchesSent - r.batchesAcked, "batches"));
    out.push(line(`${n} gateways: cloud CPU`, cloudCpu, "cores"));
    out.push(line(`${n} gateways: PostgreSQL CPU`, pgCpu, "cores"));
  }
  const sat: number[] = [];
  for (const k of INSTANCES) {
    const { r, cloudCpu, pgCpu } = await fleetRun(k, SAT_DEVICES, 20, 50);
    const bps = r.batchesAcked / r.seconds;
    sat.push(bps);
    out.push(line(`saturation, ${k} instance(s): committed`, bps, "batches/s", ceiling));
    out.push(line(`saturation, ${k} instance(s): lag p99`, r.latencyP99Ms ?? -1, "ms"));
    out.push(line(`saturation, ${k} instance(s): cloud CPU`, cloudCpu, "cores"));
    out.push(line(`saturation, ${k} instance(s): PostgreSQL CPU`, pgCpu, "cores"));
    out.push(
      line(
        `saturation, ${k} instance(s): committed per cloud core`,
        bps / Math.max(cloudCpu, 0.01),
        "batches/s",
      ),
    );
  }
  if (sat.length > 1)
    out.push(line(`${INSTANCES.at(-1)} vs ${INSTANCES[0]} instance(s)`, sat.at(-1)!, "batches/s", sat[0]!));
  return out;
}
