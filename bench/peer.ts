// `npm run bench -- peer`: barnlink's agent against Node-RED + node-red-contrib-modbus on the same
// job, side by side in the same run (issue #15): each polls its own pymodbus RTU slave over a socat
// pty (10 holding registers every 100 ms) and publishes at QoS 1 to one Mosquitto of the bench's
// own; barnlink's agent runs from the production build with the unit's node flags, a barnlink cloud
// on SQLite stores its records. Register 0 is a counter the bench bumps every 500 ms on both slaves,
// so a value that was read and never arrived is counted as lost. Prints readings/s, RSS, CPU, bytes
// per reading, first reading after the broker returns and readings lost in a broker outage with and
// without a kill -9, Node-RED's figure as the baseline. Node-RED is installed in a scratch folder
// outside the repository (BENCH_PEER_DIR, default /tmp/barnlink-peer-nodered), once.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { buildCli } from "../bin/build.js";
import { cloudConfigSchema } from "../cloud/config.ts";
import { registerDevice } from "../cloud/devices.ts";
import { startCloud } from "../cloud/service.ts";
import { loadOrCreateKey } from "../core/keys.ts";
import { openPtyPair } from "../drivers/common/pty-pair.ts";
import { startSlaveProcess } from "../drivers/modbus-sim/slave-process.ts";
import { freePort, startMosquitto } from "../test/helpers/mosquitto.ts";
import { tmpDir } from "../test/helpers/services.ts";
import {
  ensureNodeRed,
  measure,
  peerAgentConfig,
  startNodeRed,
  unitNodeFlags,
  writeNodeRedFlow,
} from "./peer-parts.ts";

interface BenchLine {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

const WINDOW_S = Number(process.env.BENCH_PEER_WINDOW ?? 30);
const OUTAGE_S = Number(process.env.BENCH_PEER_OUTAGE ?? 20);
/** How long after the broker returns a reading may still arrive and not count as lost (> the 30 s ack timeout). */
const SETTLE_S = Number(process.env.BENCH_PEER_SETTLE ?? 45);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = join(import.meta.dirname, "..");
const TOPIC = "peer/nodered/regs";

export async function benchPeer(): Promise<BenchLine[]> {
  const dir = tmpDir("barnlink-peer-");
  const red = ensureNodeRed(process.env.BENCH_PEER_DIR ?? "/tmp/barnlink-peer-nodered");
  const broker = await startMosquitto();
  const ptys = [
    await openPtyPair(join(dir, "a0"), join(dir, "a1")),
    await openPtyPair(join(dir, "b0"), join(dir, "b1")),
  ];
  const slaves = await Promise.all(ptys.map((p) => startSlaveProcess({ serial: p.b, units: [1] })));
  for (const s of slaves) await s.set(1, "hr", 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The counter: every 500 ms, both slaves; `setAt` keeps when each value was set.
  const setAt = new Map<number, number>();
  let counter = 0;
  const bump = setInterval(() => {
    counter++;
    setAt.set(counter, Date.now());
    for (const s of slaves) void s.set(1, "hr", 0, [counter]).catch(() => {});
  }, 500);

  const cloud = await startCloud(
    cloudConfigSchema.parse({
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url },
      keyFile: join(dir, "cloud.key"),
      http: { port: 0 },
    }),
  );
  const device = "peer-gw";
  const adir = join(dir, "agent");
  const key = loadOrCreateKey(join(adir, "device.key"));
  await registerDevice(cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
  const config = join(dir, "agent.yaml");
  writeFileSync(
    config,
    JSON.stringify(
      peerAgentConfig({
        device,
        dataDir: adir,
        mqttUrl: broker.url,
        publicKey: cloud.publicKey,
        port: ptys[0]!.a,
      }),
    ),
  );
  const bundle = await buildCli(join(ROOT, "node_modules/.cache/barnlink-bench-peer/barnlink.mjs"));
  const gateway = bundle.replace(/\.mjs$/, "-agent.mjs");
  let agent: ChildProcess;
  const startAgent = () => {
    agent = spawn(
      process.execPath,
      [...unitNodeFlags(gateway, config), gateway, "agent", "--config", config],
      {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, BARNLINK_LOG: "error" },
      },
    );
  };
  const settings = writeNodeRedFlow(join(dir, "nodered"), {
    serialPort: ptys[1]!.a,
    mqttPort: broker.port,
    topic: TOPIC,
    uiPort: await freePort(),
  });
  let nodeRed: ChildProcess;
  const startRed = () => {
    nodeRed = startNodeRed(red, settings, dir);
  };

  // What reached the broker: a subscriber to everything counts bytes (topic + payload) per side;
  // Node-RED's readings (and their counters) as they arrive.
  const bytes = { barnlink: 0, nodered: 0 };
  const redSeen = new Map<number, number>();
  let redMessages = 0;
  const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 200 });
  sub.on("message", (topic, payload) => {
    if (topic === TOPIC) {
      bytes.nodered += topic.length + payload.length;
      redMessages++;
      const c = (JSON.parse(payload.toString()) as number[])[0]!;
      if (!redSeen.has(c)) redSeen.set(c, Date.now());
    } else if (topic.startsWith(`barnlink/v1/${device}/up`)) bytes.barnlink += topic.length + payload.length;
  });
  sub.on("connect", () => void sub.subscribe("#", { qos: 0 }));
  await sub.subscribeAsync("#", { qos: 0 });
  // barnlink's readings as the cloud committed them: block records, their counter and commit time.
  const committed = async () => {
    const rows = await cloud.ctx.db.kysely
      .selectFrom("records")
      .select(["body", "received_at", "t_boot", "t_mono"])
      .where("device", "=", device)
      .where("kind", "=", "block")
      .execute();
    const seen = new Map<number, number>();
    // A duplicate: one poll (one capture time) committed under two seqs, e.g. re-appended after a restart.
    const captured = new Set<string>();
    let duplicates = 0;
    for (const r of rows) {
      const at = `${r.t_boot}/${r.t_mono}`;
      if (captured.has(at)) duplicates++;
      captured.add(at);
      const c = (JSON.parse(r.body) as { values: Record<string, number> }).values.r0!;
      if (!seen.has(c)) seen.set(c, Number(r.received_at));
    }
    return { count: rows.length, seen, duplicates };
  };

  startAgent();
  startRed();
  const lines: BenchLine[] = [];
  const pair = (metric: string, ours: number, theirs: number, unit: string) =>
    lines.push({
      bench: "peer",
      metric,
      value: ours,
      unit,
      baseline: theirs,
      ratio: theirs ? ours / theirs : undefined,
    });
  try {
    await sleep(15_000); // both started and polling
    // Steady state: WINDOW_S seconds side by side.
    const b0 = { ...bytes };
    const c0 = (await committed()).count;
    const r0 = redMessages;
    const t0 = Date.now();
    const [ours, theirs] = await Promise.all([
      measure(
        () => agent.pid!,
        async () => void (await sleep(WINDOW_S * 1000)),
      ),
      measure(
        () => nodeRed.pid!,
        async () => void (await sleep(WINDOW_S * 1000)),
      ),
    ]);
    await sleep(3000); // the last linger and ack
    const secs = (Date.now() - t0 - 3000) / 1000;
    const cN = (await committed()).count - c0;
    const rN = redMessages - r0;
    pair("readings/s delivered (one reading = the 10 registers of one poll)", cN / secs, rN / secs, "/s");
    pair("RSS median", ours.rssMedian, theirs.rssMedian, "MB");
    pair("RSS peak", ours.rssPeak, theirs.rssPeak, "MB");
    pair("CPU", ours.cpuPct, theirs.cpuPct, "% of one core");
    pair(
      "bytes into the broker per reading (linger 1 s)",
      (bytes.barnlink - b0.barnlink) / cN,
      (bytes.nodered - b0.nodered) / rN,
      "B",
    );

    for (const kill of [false, true]) {
      const label = kill
        ? `broker outage of ${OUTAGE_S} s with a kill -9 inside`
        : `broker outage of ${OUTAGE_S} s`;
      const down = Date.now();
      const dup0 = (await committed()).duplicates;
      const red0 = redMessages;
      await broker.stop();
      let killedAt = Number.POSITIVE_INFINITY;
      if (kill) {
        await sleep((OUTAGE_S * 1000) / 2);
        killedAt = Date.now();
        agent!.kill("SIGKILL");
        nodeRed!.kill("SIGKILL");
        await sleep(500);
        startAgent();
        startRed();
        await sleep((OUTAGE_S * 1000) / 2);
      } else await sleep(OUTAGE_S * 1000);
      await broker.restart(0);
      const up = Date.now();
      // First reading after the broker returns, each side.
      let oursFirst = Number.NaN;
      let theirsFirst = Number.NaN;
      for (
        let end = up + 120_000;
        Date.now() < end && (Number.isNaN(oursFirst) || Number.isNaN(theirsFirst));
      ) {
        const { seen } = await committed();
        const o = Math.min(...[...seen.values()].filter((t) => t >= up));
        if (Number.isNaN(oursFirst) && Number.isFinite(o)) oursFirst = (o - up) / 1000;
        const t = Math.min(...[...redSeen.values()].filter((x) => x >= up));
        if (Number.isNaN(theirsFirst) && Number.isFinite(t)) theirsFirst = (t - up) / 1000;
        await sleep(100);
      }
      await sleep(SETTLE_S * 1000); // backlogs drained (a resend after the ack timeout included)
      // Lost: counter values set during the outage (before the kill, if any: readings taken while
      // the broker was down) that never arrived. Values set within 1 s of either edge are left out.
      const taken = [...setAt]
        .filter(([, t]) => t > down + 1000 && t < Math.min(up, killedAt) - 1000)
        .map(([c]) => c);
      const { seen, duplicates } = await committed();
      // Node-RED's payload carries no capture time or sequence: a reading delivered twice cannot be
      // told from the same values read twice, so its side is the count of messages, for reference.
      pair(
        `readings committed twice (one capture time under two seqs) over a ${label} and its settle`,
        duplicates - dup0,
        redMessages - red0,
        "readings",
      );
      pair(
        `readings not delivered ${SETTLE_S} s after a ${label} (of ${taken.length} set)`,
        taken.filter((c) => !seen.has(c)).length,
        taken.filter((c) => !redSeen.has(c)).length,
        "readings",
      );
      pair(`first reading after the broker returns (${label})`, oursFirst, theirsFirst, "s");
    }
  } finally {
    clearInterval(bump);
    agent!.kill("SIGKILL");
    nodeRed!.kill("SIGKILL");
    await sub.endAsync(true).catch(() => {});
    await cloud.stop();
    await broker.stop();
    for (const s of slaves) await s.stop();
    for (const p of ptys) await p.stop();
  }
  return lines;
}
