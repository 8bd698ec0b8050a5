// `npm run bench -- big-barn` (issue #15): the big barn on one gateway. barnlink's agent, from the
// production build with the unit's node flags, polls 4 Modbus RTU buses (socat pty pairs, a pymodbus
// slave of 5 units on each, every unit read every 2 s: 100 readings per 10 s in all, 5 registers
// each) and watches 2 cameras at 1 frame/s through the faces pipeline, publishing over MQTT to a
// Mosquitto of the bench's own where a barnlink cloud on SQLite commits the records. No camera
// exists on this machine: each camera is the agent's real `camera` driver polling an HTTP snapshot
// URL served by this process, which hands out 1280×720 frames of the synthetic feeder camera
// (models/synth/camera.ts: a herd of 20 synthetic pigs, now and then a stranger), rendered before the
// runs; the agent resizes them to 640×360. The herd is enrolled in each run's gallery beforehand
// (3 synthetic photos per pig, as the faces driver's synthetic demo does). Three agents in turn, same
// run: Modbus only (the baseline), + the 2 cameras without faces, + the faces pipeline (the big barn).
// Prints CPU % of one core (from /proc), CPU per frame and per reading, RSS median and peak, each
// over a window at steady state (from 240 s after the agent's start), and the CPU of a window in the
// first minutes beside it. Knobs: bench/README.md (BENCH_BIG_BARN_WINDOW, _WARMUP, _STEADY, _ROUNDS,
// _PROF, _BEFORE, _ONLY, _AGENT_ENV, _NODE_FLAGS, _OUT).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildCli } from "../bin/build.js";
import { cloudConfigSchema } from "../cloud/config.ts";
import { registerDevice } from "../cloud/devices.ts";
import { startCloud } from "../cloud/service.ts";
import { loadOrCreateKey } from "../core/keys.ts";
import { openPtyPair } from "../drivers/common/pty-pair.ts";
import { startSlaveProcess } from "../drivers/modbus-sim/slave-process.ts";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { tmpDir } from "../test/helpers/services.ts";
import { CAMERAS, enrolledGallery, envOf, ROI, renderFrames } from "./big-barn-parts.ts";
import { measure, unitNodeFlags } from "./peer-parts.ts";
import { PERF_NODE_FLAGS, perfRecord, perfReport } from "./perf-jit.ts";

interface BenchLine {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const WINDOW_S = Number(process.env.BENCH_BIG_BARN_WINDOW ?? 60);
const WARMUP_S = Number(process.env.BENCH_BIG_BARN_WARMUP ?? 25);
const ROUNDS = Number(process.env.BENCH_BIG_BARN_ROUNDS ?? 1);
/** Seconds after its start when each agent's steady-state window begins (0: the first window only). */
const STEADY_S = Number(process.env.BENCH_BIG_BARN_STEADY ?? 240);
const PROF = process.env.BENCH_BIG_BARN_PROF;
/** DIR: `perf` records each agent's steady window, JS frames named (bench/perf-jit.ts). */
const PERF = process.env.BENCH_BIG_BARN_PERF;
const BUSES = 4;
const UNITS = 5;
const REGISTERS = 5;
const POLL_S = 2;
const FPS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = join(import.meta.dirname, "..");

type Variant = "modbus" | "cameras" | "faces" | "still" | "faces720" | "before" | "before720";
/** An agent bundle (`…-agent.mjs`) built from another commit: its big barn is measured too, as "before". */
const BEFORE = process.env.BENCH_BIG_BARN_BEFORE;
/** BENCH_BIG_BARN_ONLY=modbus,faces runs those agents alone (lines needing the others are not printed). */
const ONLY = process.env.BENCH_BIG_BARN_ONLY?.split(",");
const VARIANTS = (
  [
    "modbus",
    "cameras",
    "faces",
    "still",
    "faces720",
    ...(BEFORE ? (["before", "before720"] as const) : []),
  ] as Variant[]
).filter((v) => !ONLY || ONLY.includes(v));
/** Extra environment for every agent, e.g. `VIPS_CONCURRENCY=1 MALLOC_ARENA_MAX=2` (deployment knobs). */
const AGENT_ENV = envOf(process.env.BENCH_BIG_BARN_AGENT_ENV);
/** More environment for the "before" agents alone (with _BEFORE set to this build: a knob against none). */
const BEFORE_ENV = envOf(process.env.BENCH_BIG_BARN_BEFORE_ENV);
const QUIET = { BARNLINK_LOG: "error" };
const LABEL: Record<Variant, string> = {
  modbus: "Modbus only (4 buses, 100 readings / 10 s)",
  cameras: "+ 2 cameras at 1 frame/s (640×360), no faces",
  faces: "+ the faces pipeline on both (the big barn)",
  still: "the big barn, pigs standing still (each scene 4 snapshots, re-encoded)",
  faces720: "the big barn, cameras sending 1280×720 (resized by the agent)",
  before: "the big barn, agent built from BENCH_BIG_BARN_BEFORE",
  before720: "the big barn, 1280×720 cameras, agent built from BENCH_BIG_BARN_BEFORE",
};
const faces = (v: Variant) => v.startsWith("faces") || v.startsWith("before") || v === "still";
const hd = (v: Variant) => v.endsWith("720");

export async function benchBigBarn(): Promise<BenchLine[]> {
  const dir = tmpDir("barnlink-big-barn-");
  const load0 = loadavg();
  process.stderr.write("big-barn: rendering frames, enrolling the herd, building…\n");
  const pools = await renderFrames();
  const galleryTemplate = join(dir, "herd.db");
  await enrolledGallery(galleryTemplate);
  const served = Array.from({ length: CAMERAS }, () => 0);
  const http = createServer((req, res) => {
    const m = /^\/(hd|sd|still)\/cam(\d+)\.jpg$/.exec(req.url ?? "");
    const c = Number(m?.[2] ?? 0) - 1;
    const pool = pools[(m?.[1] ?? "sd") as "hd" | "sd" | "still"][c];
    if (!pool) return void res.writeHead(404).end();
    const jpeg = pool[served[c]! % pool.length]!;
    served[c]!++;
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.length }).end(jpeg);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const httpPort = (http.address() as AddressInfo).port;

  const broker = await startMosquitto();
  const ptys = [];
  for (let b = 0; b < BUSES; b++) ptys.push(await openPtyPair(join(dir, `bus${b}a`), join(dir, `bus${b}b`)));
  const units = Array.from({ length: UNITS }, (_, i) => i + 1);
  const slaves = await Promise.all(ptys.map((p) => startSlaveProcess({ serial: p.b, units })));
  for (const s of slaves) for (const u of units) await s.set(u, "hr", 0, [210, 650, 12, 3, u]);
  const cloud = await startCloud(
    cloudConfigSchema.parse({
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url },
      keyFile: join(dir, "cloud.key"),
      http: { port: 0 },
    }),
  );
  const bundle = await buildCli(join(ROOT, "node_modules/.cache/barnlink-bench-big-barn/barnlink.mjs"));
  const gateway = bundle.replace(/\.mjs$/, "-agent.mjs");

  const modbus = ptys.map((p, b) => ({
    driver: "modbus",
    name: `bus${b + 1}`,
    port: p.a,
    timeout: "500ms",
    devices: units.map((u) => ({
      name: `pen${b + 1}-${u}`,
      unit: u,
      prefix: `pen${b + 1}-${u}.`,
      interval: `${POLL_S}s`,
      registers: Array.from({ length: REGISTERS }, (_, i) => ({
        sensor: `r${i}`,
        table: "holding",
        address: i,
      })),
    })),
  }));
  const cameras = (size: "hd" | "sd" | "still") =>
    Array.from({ length: CAMERAS }, (_, c) => ({
      driver: "camera",
      name: `cam${c + 1}`,
      mode: "http",
      url: `http://127.0.0.1:${httpPort}/${size}/cam${c + 1}.jpg`,
      fps: FPS,
      width: 640,
      keep: { every: "1m", data: true },
    }));
  /** Records of a kind captured in [from, to) (wall ms) and committed, once the count stops growing. */
  const committed = async (device: string, kind: string, from: number, to: number, extra = "") => {
    let last = -1;
    for (let i = 0; i < 30; i++) {
      const row = await cloud.ctx.db.kysely
        .selectFrom("records")
        .select((e) => e.fn.countAll().as("n"))
        .where("device", "=", device)
        .where("kind", "=", kind)
        .where("t_wall", ">=", from)
        .where("t_wall", "<", to)
        .$if(extra !== "", (q) => q.where("body", "like", extra))
        .executeTakeFirst();
      const n = Number(row?.n ?? 0);
      if (n === last) return n;
      last = n;
      await sleep(2000);
    }
    return last;
  };

  const run = async (variant: Variant, round: number) => {
    const device = `bb-${variant}-${round}`;
    const adir = join(dir, device);
    const key = loadOrCreateKey(join(adir, "device.key"));
    await registerDevice(cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
    const facesSources = Array.from({ length: CAMERAS }, (_, c) => {
      const gallery = join(adir, `faces${c + 1}.db`);
      copyFileSync(galleryTemplate, gallery);
      return { driver: "faces", name: `faces${c + 1}`, camera: `cam${c + 1}`, rois: [ROI], gallery };
    });
    const sources = [
      ...modbus,
      ...(variant === "modbus" ? [] : cameras(hd(variant) ? "hd" : variant === "still" ? "still" : "sd")),
      ...(faces(variant) ? facesSources : []),
    ];
    const config = join(dir, `${device}.yaml`);
    writeFileSync(
      config,
      JSON.stringify({
        device,
        dataDir: adir,
        cloud: { mqtt: { url: broker.url }, publicKey: cloud.publicKey },
        clock: { synced: "always" },
        http: { enabled: false },
        sources,
      }),
    );
    const prof = PROF ? ["--cpu-prof", `--cpu-prof-dir=${join(PROF, variant)}`] : [];
    const perfDir = PERF ? join(PERF, `${variant}-${round + 1}`) : undefined;
    if (perfDir) mkdirSync(perfDir, { recursive: true });
    // Extra node/V8 flags (e.g. `--trace-deopt`); the agent's stdout then goes to BENCH_BIG_BARN_OUT.
    const extra = (process.env.BENCH_BIG_BARN_NODE_FLAGS ?? "").split(" ").filter(Boolean);
    const out = process.env.BENCH_BIG_BARN_OUT
      ? openSync(`${process.env.BENCH_BIG_BARN_OUT}.${variant}`, "w")
      : "ignore";
    const agent: ChildProcess = spawn(
      process.execPath,
      [
        ...unitNodeFlags(variant.startsWith("before") ? BEFORE! : gateway, config),
        ...prof,
        ...(perfDir ? PERF_NODE_FLAGS : []),
        ...extra,
        variant.startsWith("before") ? BEFORE! : gateway,
        "agent",
        "--config",
        config,
      ],
      {
        cwd: perfDir ?? process.cwd(),
        stdio: ["ignore", out, "inherit"],
        env: { ...process.env, ...AGENT_ENV, ...(variant.startsWith("before") ? BEFORE_ENV : {}), ...QUIET },
      },
    );
    const started = Date.now();
    const window = async (profile = false) => {
      if (agent.exitCode !== null) throw new Error(`the ${variant} agent exited (${agent.exitCode})`);
      const w0 = Date.now();
      const f0 = served.reduce((a, b) => a + b, 0);
      const m = await measure(
        () => agent.pid!,
        async () =>
          void (await (profile && perfDir
            ? perfRecord(agent.pid!, WINDOW_S, perfDir)
            : sleep(WINDOW_S * 1000))),
      );
      const w1 = Date.now();
      const frames = ((served.reduce((a, b) => a + b, 0) - f0) * 1000) / (w1 - w0);
      const per = (n: number) => (n * 1000) / (w1 - w0);
      const readings = per(await committed(device, "block", w0, w1));
      const sightings = per(await committed(device, "sighting", w0, w1));
      const unknown = per(await committed(device, "sighting", w0, w1, '%"pig":null%'));
      const carried = per(await committed(device, "sighting", w0, w1, '%"carriedFrom"%'));
      return { ...m, frames: variant === "modbus" ? 0 : frames, readings, sightings, unknown, carried };
    };
    try {
      await sleep(WARMUP_S * 1000);
      const first = await window(STEADY_S === 0);
      // A gateway runs for months: the figures are its steady state, once V8 has compiled what runs
      // (single-threaded, so on the main thread: ~1.2 s of CPU over the faces agent's first ~4 min).
      const rest = STEADY_S * 1000 - (Date.now() - started);
      if (rest <= 0) return { ...first, firstCpuPct: first.cpuPct };
      await sleep(rest);
      return { ...(await window(true)), firstCpuPct: first.cpuPct };
    } finally {
      agent.kill(PROF ? "SIGTERM" : "SIGKILL");
      await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once("exit", r)));
      if (typeof out === "number") closeSync(out);
      if (perfDir)
        process.stderr.write(
          await perfReport(perfDir, agent.pid!, WINDOW_S).catch((e: Error) => `perf: ${e.message}\n`),
        );
    }
  };

  type Result = Awaited<ReturnType<typeof run>>;
  const results = Object.fromEntries(VARIANTS.map((v) => [v, [] as Result[]])) as Record<Variant, Result[]>;
  try {
    for (let round = 0; round < ROUNDS; round++)
      for (const v of VARIANTS) {
        process.stderr.write(`big-barn: round ${round + 1}, ${LABEL[v]}…\n`);
        const r = await run(v, round);
        results[v].push(r);
        process.stderr.write(
          `big-barn:   CPU ${r.cpuPct.toFixed(2)} % of a core (first minutes ${r.firstCpuPct.toFixed(2)} %), RSS median ${r.rssMedian} MB, ${r.sightings.toFixed(2)} sightings/s\n`,
        );
      }
  } finally {
    http.close();
    await cloud.stop();
    await broker.stop();
    for (const s of slaves) await s.stop();
    for (const p of ptys) await p.stop();
  }
  const load1 = loadavg();
  // The median; of an even count, the mean of the middle two (not the higher of them).
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const h = s.length >> 1;
    return s.length === 0 ? 0 : s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  };
  const pick = (v: Variant, k: keyof Result) => med((results[v] ?? []).map((r) => r[k]));
  const lines: BenchLine[] = [];
  const line = (metric: string, value: number, unit: string, baseline?: number) =>
    lines.push({
      bench: "big-barn",
      metric,
      value,
      unit,
      ...(baseline !== undefined ? { baseline, ratio: baseline ? value / baseline : undefined } : {}),
    });
  // A line needing a variant left out by BENCH_BIG_BARN_ONLY is not printed (it would read 0, NaN or −∞).
  const ran = (...vs: Variant[]) => vs.every((v) => (results[v] ?? []).length > 0);
  const base = (v: Variant, k: keyof Result) =>
    v === "modbus" || !ran("modbus") ? undefined : pick("modbus", k);
  for (const v of VARIANTS) line(`CPU, ${LABEL[v]}`, pick(v, "cpuPct"), "% of one core", base(v, "cpuPct"));
  if (STEADY_S > 0)
    for (const v of VARIANTS)
      line(
        `CPU in the first minutes (${WARMUP_S}–${WARMUP_S + WINDOW_S} s; steady state: baseline), ${LABEL[v]}`,
        pick(v, "firstCpuPct"),
        "% of one core",
        pick(v, "cpuPct"),
      );
  for (const v of VARIANTS) {
    line(`RSS median, ${LABEL[v]}`, pick(v, "rssMedian"), "MB", base(v, "rssMedian"));
    line(`RSS peak, ${LABEL[v]}`, pick(v, "rssPeak"), "MB", base(v, "rssPeak"));
  }
  // % of a core × 10 = ms of CPU per second; per frame and per reading at the rates measured.
  const msPerS = (v: Variant) => pick(v, "cpuPct") * 10;
  const perFrame = (v: Variant, minus: Variant) => (msPerS(v) - msPerS(minus)) / pick(v, "frames");
  const opt = (v: Variant, k: keyof Result) => (ran(v) ? pick(v, k) : undefined);
  if (ran("faces")) {
    const readings = "readings/s captured and committed, big barn (Modbus only: baseline)";
    line(readings, pick("faces", "readings"), "/s", opt("modbus", "readings"));
    const frames = "frames/s grabbed, big barn (cameras without faces: baseline)";
    line(frames, pick("faces", "frames"), "/s", opt("cameras", "frames"));
    line("sightings/s committed, big barn", pick("faces", "sightings"), "/s");
    line("of which unknown (pig null)", pick("faces", "unknown"), "/s");
  }
  if (ran("still")) {
    const [cpu, sightings] = [pick("still", "cpuPct"), pick("still", "sightings")];
    line("CPU, pigs standing still (the big barn: baseline)", cpu, "% of one core", opt("faces", "cpuPct"));
    line(
      "sightings/s committed, pigs standing still (the big barn: baseline)",
      sightings,
      "/s",
      opt("faces", "sightings"),
    );
    line("of which carried from an earlier frame (carriedFrom)", pick("still", "carried"), "/s");
  }
  if (ran("modbus"))
    line("CPU per reading, Modbus-only agent", msPerS("modbus") / pick("modbus", "readings"), "ms");
  if (ran("faces"))
    line(
      "CPU per reading, big barn (whole agent)",
      msPerS("faces") / pick("faces", "readings"),
      "ms",
      ran("modbus") ? msPerS("modbus") / pick("modbus", "readings") : undefined,
    );
  const cameraPath = "CPU per frame, camera path (cameras without faces − Modbus only)";
  if (ran("cameras", "modbus")) line(cameraPath, perFrame("cameras", "modbus"), "ms");
  if (ran("faces", "modbus"))
    line(
      "CPU per frame, big barn (− Modbus only; camera path: baseline)",
      perFrame("faces", "modbus"),
      "ms",
      ran("cameras") ? perFrame("cameras", "modbus") : undefined,
    );
  if (ran("faces720", "modbus"))
    line(
      "CPU per frame, 1280×720 cameras (− Modbus only; 640×360: baseline)",
      perFrame("faces720", "modbus"),
      "ms",
      ran("faces") ? perFrame("faces", "modbus") : undefined,
    );
  if (BEFORE && ran("faces", "before")) {
    const vs = "big barn, this build (before: baseline)";
    line(`CPU, ${vs}`, pick("faces", "cpuPct"), "% of one core", pick("before", "cpuPct"));
    line(`RSS median, ${vs}`, pick("faces", "rssMedian"), "MB", pick("before", "rssMedian"));
    line(`sightings/s, ${vs}`, pick("faces", "sightings"), "/s", pick("before", "sightings"));
  }
  if (BEFORE) {
    if (ran("faces", "before", "modbus"))
      line(
        "CPU per frame, big barn, this build (− Modbus only; before: baseline)",
        perFrame("faces", "modbus"),
        "ms",
        perFrame("before", "modbus"),
      );
    if (ran("faces720", "before720", "modbus"))
      line(
        "CPU per frame, 1280×720, this build (− Modbus only; before: baseline)",
        perFrame("faces720", "modbus"),
        "ms",
        perFrame("before720", "modbus"),
      );
  }
  line("load average (1 min) before the runs", load0[0]!, "");
  line("load average (1 min) after the runs", load1[0]!, "");
  return lines;
}
