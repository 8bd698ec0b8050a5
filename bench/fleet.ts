import mqtt from "mqtt";
import { generateKeyPair } from "../core/keys.ts";
import { encodeBatch } from "../sync/codec.ts";
import { runFleet } from "../sync/fleet.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { upTopic } from "../sync/topics.ts";
import { startMosquitto } from "../test/helpers/mosquitto.ts";
import { type BenchLine, cpuOf, cpuOfNamed, deploy, lineOf, load1 } from "./fleet-parts.ts";

export type { BenchLine };

const line = lineOf("fleet");

/** Fleet runs: `N` gateways at one reading a second each, or `N@R`: N gateways at R readings a second each (R < 1: one every 1/R s, e.g. `5000@0.2`). */
const SIZES = (process.env.BENCH_FLEET_SIZES ?? "100,1000")
  .split(",")
  .filter(Boolean)
  .map((k) => {
    const [n, r] = k.split("@");
    return { n: Number(n), rate: r === undefined ? 1 : Number(r) };
  });
const SECONDS = Number(process.env.BENCH_FLEET_SECONDS ?? 30);
const SAT_DEVICES = Number(process.env.BENCH_FLEET_SAT_DEVICES ?? 400);
const SAT_RATE = Number(process.env.BENCH_FLEET_SAT_RATE ?? 20);
/** Saturation runs: `N` instances (a shared subscription when N > 1) or `Na`: N instances on `ingest.routing: affine`. */
const INSTANCES = (process.env.BENCH_FLEET_INSTANCES ?? "1,2,2a")
  .split(",")
  .filter(Boolean)
  .map((k) => ({ n: Number.parseInt(k, 10), affine: k.endsWith("a") }));

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

/** CPU of the parts, sampled at the steady window's open and close: cores busy on average. */
function cpuSampler(clouds: number[], broker: number) {
  const take = () => ({
    t: Date.now(),
    clouds: clouds.map(cpuOf),
    pg: cpuOfNamed("postgres"),
    broker: cpuOf(broker),
    loadgen: process.cpuUsage(),
    load: load1(),
  });
  let open: ReturnType<typeof take> | undefined;
  let close: ReturnType<typeof take> | undefined;
  return {
    on: (phase: "open" | "close") => {
      if (phase === "open") open = take();
      else close = take();
    },
    result() {
      if (!open || !close) throw new Error("the steady window never opened");
      const s = (close.t - open.t) / 1000;
      return {
        cloud: close.clouds.reduce((n, c, i) => n + c - open!.clouds[i]!, 0) / s,
        pg: (close.pg - open.pg) / s,
        broker: (close.broker - open.broker) / s,
        loadgen:
          (close.loadgen.user + close.loadgen.system - open.loadgen.user - open.loadgen.system) / 1e6 / s,
        load: `${open.load} → ${close.load}`,
        loadEnd: close.load,
      };
    },
  };
}

async function fleetRun(
  instances: number,
  devices: number,
  rate: number,
  batchEveryMs: number,
  affine = false,
) {
  const d = await deploy(instances, {}, { routing: affine ? "affine" : "broker" });
  try {
    const cpu = cpuSampler(
      d.clouds.map((c) => c.child.pid!),
      d.broker.pid,
    );
    const r = await runFleet({
      url: d.broker.url,
      devices,
      rate,
      batchEveryMs,
      durationMs: SECONDS * 1000,
      prefix: `f${instances}${affine ? "a" : ""}x${devices}`,
      cloudKey: undefined,
      register: d.register,
      onWindow: cpu.on,
    });
    const exited = d.clouds.filter((c) => c.child.exitCode !== null).length;
    // Each instance's committed and released (not its devices) batches, from its /metrics.
    const split = await Promise.all(
      d.clouds.map(async (c) => {
        const text = await fetch(`http://127.0.0.1:${c.port}/metrics`).then(
          (x) => x.text(),
          () => "",
        );
        const v = (name: string) =>
          Number(new RegExp(`^barnlink_${name} (\\S+)$`, "m").exec(text)?.[1] ?? -1);
        return { batches: v("ingest_batches_total"), notOwner: v("ingest_not_owner_total") };
      }),
    );
    return { r, cpu: cpu.result(), exited, split };
  } finally {
    await d.stop();
  }
}

/**
 * The cloud under a fleet of gateways (sync/fleet.ts, as `barnlink loadgen`): each of BENCH_FLEET_SIZES
 * gateways sends one reading a second (or its `@R` rate) for BENCH_FLEET_SECONDS; committed batches/s and send → signed
 * commit ack lag. Then a saturating run (BENCH_FLEET_SAT_DEVICES gateways, a batch every 50 ms each)
 * with 1 instance, 2 on a shared subscription and 2 on affine routing (BENCH_FLEET_INSTANCES). The ratio is to the broker's own throughput with the
 * same payloads, measured in the same run. Cloud and PostgreSQL CPU are cores busy on average
 * (PostgreSQL: every postgres process on the machine). Needs PostgreSQL and the mosquitto binary.
 */
export async function benchFleet(): Promise<BenchLine[]> {
  const out: BenchLine[] = [];
  const ceiling = await brokerCeiling(Number(process.env.BENCH_FLEET_CEILING_BATCHES ?? 20_000));
  out.push(line("broker ceiling (QoS 1 relay, same payloads)", ceiling, "batches/s"));
  const parts = (label: string, c: ReturnType<ReturnType<typeof cpuSampler>["result"]>, exited: number) => {
    out.push(line(`${label}: cloud CPU`, c.cloud, "cores"));
    out.push(line(`${label}: PostgreSQL CPU (all postgres processes)`, c.pg, "cores"));
    out.push(line(`${label}: broker CPU`, c.broker, "cores"));
    out.push(line(`${label}: loadgen CPU`, c.loadgen, "cores"));
    out.push(line(`${label}: load average (1 min) at the window's end`, c.loadEnd, ""));
    out.push(line(`${label}: cloud instances that exited`, exited, ""));
    process.stderr.write(`${label}: load average ${c.load}\n`);
  };
  for (const { n, rate } of SIZES) {
    const { r, cpu, exited } = await fleetRun(1, n, rate, 1000 / rate);
    const label = `${n} gateways x ${rate} rec/s`;
    out.push(line(`${label}: committed (steady window)`, r.windowBatchesPerSecond, "batches/s", n * rate));
    out.push(line(`${label}: lag p50`, r.latencyP50Ms ?? -1, "ms"));
    out.push(line(`${label}: lag p99`, r.latencyP99Ms ?? -1, "ms", 2000));
    out.push(line(`${label}: send to commit p50 (the ack's time)`, r.commitP50Ms ?? -1, "ms"));
    out.push(line(`${label}: send to commit p99`, r.commitP99Ms ?? -1, "ms"));
    out.push(line(`${label}: unacked at end`, r.batchesSent - r.batchesAcked, "batches"));
    parts(label, cpu, exited);
  }
  const sat: number[] = [];
  for (const k of INSTANCES) {
    const { r, cpu, exited, split } = await fleetRun(k.n, SAT_DEVICES, SAT_RATE, 1000 / SAT_RATE, k.affine);
    const bps = r.windowBatchesPerSecond;
    sat.push(bps);
    const label = `saturation, ${k.n} instance(s)${k.n > 1 ? (k.affine ? " affine" : " shared") : ""}`;
    out.push(line(`${label}: offered`, SAT_DEVICES * SAT_RATE, "batches/s"));
    out.push(line(`${label}: committed (steady window)`, bps, "batches/s", ceiling));
    out.push(line(`${label}: lag p99`, r.latencyP99Ms ?? -1, "ms"));
    out.push(line(`${label}: committed per cloud core`, bps / Math.max(cpu.cloud, 0.01), "batches/s"));
    out.push(
      line(`${label}: PostgreSQL CPU per 1,000 batches`, (cpu.pg / Math.max(bps, 1)) * 1000, "core-s"),
    );
    out.push(line(`${label}: cloud CPU per 1,000 batches`, (cpu.cloud / Math.max(bps, 1)) * 1000, "core-s"));
    for (const [i, m] of split.entries()) {
      out.push(line(`${label}: instance ${i + 1} committed batches (whole run)`, m.batches, "batches"));
      if (k.affine)
        out.push(line(`${label}: instance ${i + 1} released as not its own`, m.notOwner, "batches"));
    }
    parts(label, cpu, exited);
  }
  // Every run against the first (one instance), measured in the same bench run.
  const name = (k: (typeof INSTANCES)[number]) => `${k.n}${k.affine ? " affine" : k.n > 1 ? " shared" : ""}`;
  for (let i = 1; i < sat.length; i++)
    out.push(
      line(`${name(INSTANCES[i]!)} vs ${name(INSTANCES[0]!)} instance(s)`, sat[i]!, "batches/s", sat[0]!),
    );
  return out;
}
