import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { cloudConfigSchema } from "../cloud/config.ts";
import { registerDevice } from "../cloud/devices.ts";
import { type CloudHandle, startCloud } from "../cloud/service.ts";
import { canonicalJson } from "../core/canonical.ts";
import { generateKeyPair, loadOrCreateKey } from "../core/keys.ts";
import { encodeBatch } from "../sync/codec.ts";
import { SqliteOutbox } from "../sync/outbox/sqlite-outbox.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { freshDb, MOSQUITTO_URL, PG_URL, tmpDir } from "../test/helpers/services.ts";

export interface BenchLine {
  bench: "sync";
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const RECORDS = Number(process.env.BENCH_SYNC_RECORDS ?? 1_000_000);
// The agent's own stream names (drivers/sim-barn) and a kernel boot id (a UUID), as a gateway writes them.
const STREAMS = ["env.temperature", "env.humidity", "env.ammonia", "silo.weight"];
const BOOT = process.env.BENCH_SYNC_BOOT ?? "5f0c6a52-2b9e-4a51-9d3c-7e1f0b8a4c2d";
const row = (j: number) => ({
  stream: STREAMS[j % 4]!,
  kind: "reading",
  // A sensor's diurnal swing plus noise, sampled every ~1 s with scheduling jitter: not a sine
  // brotli can predict, so the byte count is honest.
  body: { value: Math.round((21 + Math.sin(j / 500) * 3 + ((j * 7919) % 11) / 10) * 10) / 10, unit: "degC" },
  t: {
    wall: 1_760_000_000_000 + j * 1000 + ((j * 104_729) % 37),
    boot: BOOT,
    mono: 10_000 + j * 1000 + ((j * 104_729) % 37),
    synced: true,
  },
});
const line = (metric: string, value: number, unit: string, baseline?: number): BenchLine => ({
  bench: "sync",
  metric,
  value,
  unit,
  ...(baseline === undefined ? {} : { baseline, ratio: Number((value / baseline).toFixed(3)) }),
});

/**
 * Outbox appends (validated, chained) vs raw better-sqlite3 inserts of the same rows (8 columns, a
 * prepared statement, one transaction per batch), at two batch sizes, like for like: 500-record
 * appends vs 500-row transactions, 5,000 vs 5,000. Each runs BENCH_SYNC_APPEND_ROUNDS times (default
 * 3), alternating, each into a fresh file; the best rate of each is compared (a single ~0.5 s raw
 * pass swings ±20 % on a shared machine). The rows are the agent's: its stream names, a UUID boot id.
 */
function append(n = 200_000): BenchLine[] {
  const rows = Array.from({ length: n }, (_, j) => row(j));
  const rounds = Number(process.env.BENCH_SYNC_APPEND_ROUNDS ?? 3);
  const sizes = [500, 5000];
  const rawRate = new Map<number, number>();
  const rate = new Map<number, number>();
  const best = (m: Map<number, number>, k: number, v: number) => m.set(k, Math.max(m.get(k) ?? 0, v));
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const dir = tmpDir("barnlink-bench-");
      const raw = new Database(join(dir, "raw.db"));
      raw.pragma("journal_mode = WAL");
      raw.pragma("synchronous = NORMAL");
      raw.exec(
        "CREATE TABLE records(stream TEXT, seq INTEGER, kind TEXT, t_wall INTEGER, t_boot TEXT, t_mono INTEGER, t_synced INTEGER, body TEXT, PRIMARY KEY(stream, seq)) WITHOUT ROWID",
      );
      const ins = raw.prepare("INSERT INTO records VALUES (?,?,?,?,?,?,?,?)");
      let t0 = performance.now();
      const tx = raw.transaction((chunk: typeof rows, base: number) => {
        chunk.forEach((r, k) => {
          ins.run(r.stream, base + k, r.kind, r.t.wall, r.t.boot, r.t.mono, 1, JSON.stringify(r.body));
        });
      });
      for (let i = 0; i < n; i += size) tx(rows.slice(i, i + size), i);
      best(rawRate, size, n / ((performance.now() - t0) / 1000));
      raw.close();
      const ob = new SqliteOutbox(join(dir, "outbox.db"), "bench");
      t0 = performance.now();
      for (let i = 0; i < n; i += size) ob.append(rows.slice(i, i + size));
      best(rate, size, n / ((performance.now() - t0) / 1000));
      ob.close();
    }
  }
  return sizes.map((size) =>
    line(
      `append rate (${size}-record appends) vs raw inserts (${size}-row transactions)`,
      rate.get(size)!,
      "records/s",
      rawRate.get(size)!,
    ),
  );
}

/** Bytes on the wire per telemetry record in a full batch vs one JSON message per reading. */
function wire(): BenchLine[] {
  const key = generateKeyPair();
  const w = new StreamWriter("barn-0001", "env.temperature", key);
  const recs = Array.from({ length: 2000 }, (_, j) => {
    const r = row(j);
    return { t: r.t, kind: r.kind, body: r.body };
  });
  const frame = encodeBatch(batchOf("barn-0001", [w.next(recs)]));
  const json = recs.reduce(
    (n, r, j) =>
      n +
      Buffer.byteLength(
        canonicalJson({
          device: "barn-0001",
          stream: "env.temperature",
          seq: j + 1,
          t: r.t,
          kind: r.kind,
          body: r.body,
        }),
      ),
    0,
  );
  return [
    line(
      "wire bytes per telemetry record (2000/batch, brotli) vs JSON per reading",
      frame.length / 2000,
      "B/record",
      json / 2000,
    ),
  ];
}

/**
 * Bundles bench/sync-agent.ts with the production build's esbuild options (bin/build.js) into
 * node_modules/.cache (inside the package, so its packages and assets resolve) and returns the file.
 */
async function compileAgent(): Promise<string> {
  const { build } = await import("esbuild");
  const { bundleOptions } = await import("../bin/build.js");
  const out = join(import.meta.dirname, "../node_modules/.cache/barnlink-bench/sync-agent.mjs");
  await build(bundleOptions(join(import.meta.dirname, "sync-agent.ts"), out));
  return out;
}

/** The node flags production runs the agent with: those of deploy/barnlink-agent.service's ExecStart. */
const PRODUCTION_AGENT_FLAGS = (() => {
  const unit = readFileSync(join(import.meta.dirname, "../deploy/barnlink-agent.service"), "utf8");
  const exec = /^ExecStart=\S+node((?: --[\w-]+(?:=\S+)?)*) /m.exec(unit);
  if (!exec) throw new Error("deploy/barnlink-agent.service: no ExecStart=…node … line");
  return exec[1]!.trim().split(" ").filter(Boolean);
})();

async function drain(db: "sqlite" | "postgres", instances: 1 | 2): Promise<BenchLine[]> {
  const dir = tmpDir("barnlink-bench-");
  const fresh = await freshDb(db);
  await fresh.db.close();
  const group = instances === 2 ? `bench${randomBytes(3).toString("hex")}` : undefined;
  const clouds: CloudHandle[] = [];
  for (let i = 0; i < instances; i++) {
    const cfg = cloudConfigSchema.parse({
      instance: `bench-${randomBytes(3).toString("hex")}`,
      database: { url: db === "postgres" ? PG_URL : fresh.url },
      mqtt: { url: MOSQUITTO_URL, ...(group ? { sharedGroup: group } : {}) },
      http: { port: 0 },
      keyFile: join(dir, "cloud.key"),
    });
    clouds.push(await startCloud(cfg, { schema: fresh.schema }));
  }
  const device = `bench-${randomBytes(3).toString("hex")}`;
  const adir = join(dir, "agent");
  mkdirSync(adir);
  // The backlog is written before the agent starts, as after weeks offline: its RSS is the drain's.
  loadOrCreateKey(join(adir, "device.key"));
  const backlog = new SqliteOutbox(join(adir, "outbox.db"), device, { validate: false });
  for (let i = 0; i < RECORDS; i += 5000)
    backlog.append(Array.from({ length: Math.min(5000, RECORDS - i) }, (_, k) => row(i + k)));
  backlog.close();
  // The agent half runs as production runs the agent: bundled like `npm run build` (dist/barnlink.mjs)
  // under plain node. BENCH_AGENT_RUNTIME=tsx runs the sources through tsx instead, like bin/barnlink.js
  // (development): tsx's loader thread adds ~30 MB RSS.
  const runtime = process.env.BENCH_AGENT_RUNTIME ?? "compiled";
  if (runtime !== "compiled" && runtime !== "tsx")
    throw new Error(`BENCH_AGENT_RUNTIME=${runtime}: compiled (default) or tsx`);
  const compiled = runtime === "compiled" ? await compileAgent() : undefined;
  const prof = process.env.BENCH_AGENT_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_AGENT_PROF}`]
    : [];
  const child = fork(
    compiled ?? join(import.meta.dirname, "sync-agent.ts"),
    [adir, MOSQUITTO_URL, clouds[0]!.publicKey, device],
    // BENCH_AGENT_PROF=DIR writes the agent's CPU profile there (node --cpu-prof).
    // BENCH_AGENT_NODE_FLAGS: extra node flags for the agent (e.g. --max-semi-space-size=2 on a small Pi).
    {
      execArgv: [
        ...(compiled ? [] : ["--import", "tsx"]),
        ...prof,
        ...(compiled ? PRODUCTION_AGENT_FLAGS : []),
        ...(process.env.BENCH_AGENT_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      ],
    },
  );
  const next = () =>
    new Promise<Record<string, number | string | boolean>>((r) =>
      child.once("message", (m) => r(m as never)),
    );
  const ready = await next();
  await registerDevice(clouds[0]!.ctx.db, device, String(ready.publicKey), null, Date.now());
  const done = next();
  child.send("go");
  const res = await done;
  for (const c of clouds) await c.stop();
  await fresh.drop();
  const mb = (v: unknown) => Number(v) / 1024 / 1024;
  const rest = res.rest as unknown as NodeJS.MemoryUsage;
  const atPeak = res.atPeak as unknown as NodeJS.MemoryUsage;
  const label = `drain ${RECORDS.toLocaleString("en")} → Mosquitto → ${instances} cloud${instances > 1 ? "s" : ""} on ${db}${compiled ? ` (agent: production build, node ${PRODUCTION_AGENT_FLAGS.join(" ")})` : " (agent: sources through tsx)"}`;
  return [
    line(`${label}, committed and acked`, RECORDS / (Number(res.ms) / 1000), "records/s"),
    line(`agent peak RSS during ${label}`, Number(res.peakRss) / 1024 / 1024, "MB"),
    line(
      `agent RSS at rest before ${label} (Node${compiled ? "" : " + tsx"} + modules)`,
      Number(res.restRss) / 1024 / 1024,
      "MB",
    ),
    line(`agent peak V8 heap during ${label}`, Number(res.peakHeap) / 1024 / 1024, "MB"),
    // Where the RSS goes: the kernel's high-water mark (between samples too), and at the sampled peak
    // how much is V8's heap and how much native memory V8 knows of (Buffers, zlib/brotli state).
    line(`agent RSS high-water mark (ru_maxrss) during ${label}`, mb(res.maxRss), "MB"),
    line(
      `agent V8 heap (heapTotal) at rest / at the RSS peak, ${label}`,
      mb(rest.heapTotal),
      "MB",
      mb(atPeak.heapTotal),
    ),
    line(
      `agent external memory at rest / at the RSS peak, ${label}`,
      mb(rest.external),
      "MB",
      mb(atPeak.external),
    ),
  ];
}

export async function benchSync(): Promise<BenchLine[]> {
  // BENCH_SYNC_ONLY=append: the append comparison alone (seconds, not minutes).
  if (process.env.BENCH_SYNC_ONLY === "append") return append();
  const out = [...append(), ...wire()];
  const only = process.env.BENCH_SYNC_DRAIN?.split(",");
  for (const [db, n] of [
    ["sqlite", 1],
    ["postgres", 1],
    ["postgres", 2],
    ["sqlite", 2],
  ] as const) {
    if (only && !only.includes(`${db}${n}`)) continue;
    out.push(...(await drain(db, n)));
  }
  return out;
}
