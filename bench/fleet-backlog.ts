import { sql } from "kysely";
import mqtt from "mqtt";
import { generateKeyPair } from "../core/keys.ts";
import { encodeBatch } from "../sync/codec.ts";
import { batchOf, StreamWriter } from "../sync/stream-writer.ts";
import { upTopic } from "../sync/topics.ts";
import { TEST_TOKEN } from "../test/helpers/stack.ts";
import { type BenchLine, type Cloud, cpuOf, cpuOfNamed, deploy, lineOf, load1 } from "./fleet-parts.ts";

const line = lineOf("fleet-backlog");
const BATCHES = Number(process.env.BENCH_BACKLOG_BATCHES ?? 100_000);
const DEVICES = Number(process.env.BENCH_BACKLOG_DEVICES ?? 100);
const INSTANCES = (process.env.BENCH_BACKLOG_INSTANCES ?? "1").split(",").filter(Boolean).map(Number);
const TIMEOUT_S = Number(process.env.BENCH_BACKLOG_TIMEOUT ?? 1800);

const get = (c: Cloud, path: string) =>
  fetch(`http://127.0.0.1:${c.port}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
const metric = (text: string, name: string) =>
  Number(new RegExp(`^barnlink_${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);

/** BATCHES one-reading batches from DEVICES gateways, published while every cloud instance is down. */
async function fillBacklog(brokerUrl: string, devices: Array<{ id: string; w: StreamWriter }>) {
  const pub = await mqtt.connectAsync(brokerUrl, { clientId: "backlog-fleet", clean: true });
  const window = new Set<Promise<unknown>>();
  for (let b = 0; b < BATCHES; b++) {
    const d = devices[b % devices.length]!;
    const seg = d.w.next([
      {
        t: { wall: 1_760_000_000_000 + b, boot: "backlog", mono: b, synced: true },
        kind: "reading",
        body: { value: b % 1000, unit: "degC" },
      },
    ]);
    const p = pub.publishAsync(upTopic(d.id), encodeBatch(batchOf(d.id, [seg])), { qos: 1 });
    window.add(p);
    void p.finally(() => window.delete(p));
    // A bounded window: MQTT.js message ids are 16-bit.
    if (window.size >= 2000) await Promise.race(window);
  }
  await Promise.all(window);
  await pub.endAsync();
}

async function backlogRun(instances: number, out: BenchLine[]) {
  const d = await deploy(instances, { tokens: [{ name: "admin", role: "admin", token: TEST_TOKEN }] });
  try {
    const devices = await Promise.all(
      Array.from({ length: DEVICES }, async (_, i) => {
        const id = `bk${instances}-${String(i).padStart(5, "0")}`;
        const key = generateKeyPair();
        await d.register(id, key.publicKeyB64);
        return { id, w: new StreamWriter(id, "env.t", key) };
      }),
    );
    // The first start made each instance's persistent session (and its subscription); now all are down.
    await Promise.all([...d.clouds].map(d.stopCloud));
    const f0 = Date.now();
    await fillBacklog(d.broker.url, devices);
    const fillS = (Date.now() - f0) / 1000;
    const label = `${BATCHES.toLocaleString("en")}-batch backlog, ${instances} instance(s)`;
    const loadStart = load1();
    const pg0 = cpuOfNamed("postgres");
    const mq0 = cpuOf(d.broker.pid);
    const t0 = Date.now();
    const clouds = await Promise.all(Array.from({ length: instances }, (_, i) => d.startCloud(i + 1)));
    const apiS = (Date.now() - t0) / 1000;
    // While draining: an authenticated API read every second (its worst time), and the exit watch.
    const reads: number[] = [];
    let exited = 0;
    for (const c of clouds) void c.exited.then(() => exited++);
    let committed = 0;
    let depthMax = 0;
    const end = t0 + TIMEOUT_S * 1000;
    while (committed < BATCHES && Date.now() < end && exited === 0) {
      const r0 = performance.now();
      const ok = await get(clouds[0]!, `/api/v1/devices/${devices[0]!.id}`).then((r) => r.ok);
      if (ok) reads.push(performance.now() - r0);
      committed = 0;
      for (const c of clouds) {
        const h = (await get(c, "/healthz").then((r) => r.json())) as {
          ingest: { batches: number };
          queue: number;
        };
        committed += h.ingest.batches;
        depthMax = Math.max(depthMax, h.queue);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const drainS = (Date.now() - t0) / 1000;
    const cloudCpu = clouds.reduce((n, c) => n + cpuOf(c.child.pid!), 0);
    const pg = (cpuOfNamed("postgres") - pg0) / drainS;
    let reconnects = 0;
    for (const c of clouds)
      reconnects += metric(await get(c, "/metrics").then((r) => r.text()), "mqtt_reconnects_total");
    const stored = await sql<{ n: string }>`SELECT count(*) AS n FROM records`.execute(d.db.kysely);
    reads.sort((a, b) => a - b);
    out.push(line(`${label}: filled in`, fillS, "s"));
    out.push(line(`${label}: spawn → first /healthz answer`, apiS, "s", 5));
    out.push(
      line(`${label}: API read while draining, median`, reads[Math.floor(reads.length / 2)] ?? -1, "ms"),
    );
    out.push(line(`${label}: API read while draining, worst`, reads.at(-1) ?? -1, "ms"));
    out.push(line(`${label}: drained in`, drainS, "s"));
    out.push(line(`${label}: committed batches`, committed, "batches", BATCHES));
    out.push(line(`${label}: records stored`, Number(stored.rows[0]!.n), "records", BATCHES));
    out.push(line(`${label}: drain rate`, committed / drainS, "batches/s"));
    out.push(line(`${label}: largest queue depth seen`, depthMax, "batches"));
    out.push(line(`${label}: cloud CPU (all instances, incl. start-up)`, cloudCpu / drainS, "cores"));
    out.push(line(`${label}: drain rate per cloud core`, committed / Math.max(cloudCpu, 0.01), "batches/s"));
    out.push(line(`${label}: PostgreSQL CPU (all postgres processes)`, pg, "cores"));
    out.push(line(`${label}: broker CPU`, (cpuOf(d.broker.pid) - mq0) / drainS, "cores"));
    out.push(line(`${label}: instances that exited`, exited, ""));
    out.push(line(`${label}: subscriber reconnects`, reconnects, ""));
    out.push(line(`${label}: load average (1 min), start → end`, load1(), "", loadStart));
  } finally {
    await d.stop();
  }
}

/**
 * A cloud restarted into a broker backlog at fleet scale (issue #19; test/e2e/backlog-restart.test.ts
 * checks the same at 2,000 batches, test/e2e/backlog-keepalive.test.ts a drain longer than 1.5 ×
 * keep-alive, which dropped the link and ended the process before the fix): BENCH_BACKLOG_BATCHES (default 100,000) one-reading batches from
 * BENCH_BACKLOG_DEVICES gateways queue in the cloud's persistent session(s) while every instance is
 * down; then the instances (BENCH_BACKLOG_INSTANCES, default 1; `1,2` compares, on a shared
 * subscription) start from the production build. Time from spawn to the first /healthz answer, an
 * authenticated API read each second while draining, drain time and rate, that no instance exited
 * or reconnected, and that every record was stored once. Needs PostgreSQL and the mosquitto binary.
 */
export async function benchFleetBacklog(): Promise<BenchLine[]> {
  const out: BenchLine[] = [];
  for (const k of INSTANCES) await backlogRun(k, out);
  return out;
}
