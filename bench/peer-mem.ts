// `npm run bench -- peer-mem`: where the peer job's agent (bench/peer.ts, issue #15) spends its
// memory, and what node flags change. Runs the production build's agent on the peer job (pymodbus
// RTU slave on a socat pty, 10 holding registers every 100 ms, MQTT QoS 1 to a Mosquitto of its own,
// a barnlink cloud committing) once per variant, the variants side by side in the same run, each
// with its own slave. BENCH_PEER_MEM_FLAGS lists the variants' node flags, `;` between variants
// (default: `unit`, the flags deploy/barnlink-agent.service runs this config with; `unit` may start a variant); the first is the baseline.
// Each agent runs with BARNLINK_MEMTRACE=1: its RSS and heap after each start-up phase
// (agent/mem-trace.ts) are printed, then RSS median and CPU over BENCH_PEER_WINDOW s (default 30)
// after 15 s of polling, and readings committed per second.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
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
import { measure, peerAgentConfig, unitNodeFlags } from "./peer-parts.ts";

const WINDOW_S = Number(process.env.BENCH_PEER_WINDOW ?? 30);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROOT = join(import.meta.dirname, "..");

export async function benchPeerMem() {
  const variants = (process.env.BENCH_PEER_MEM_FLAGS ?? "unit")
    .split(";")
    .map((v) => v.trim().split(/\s+/).filter(Boolean));
  // BENCH_PEER_MEM_BUNDLES: another gateway bundle per variant (`;` between; empty: the build's).
  const bundles = (process.env.BENCH_PEER_MEM_BUNDLES ?? "").split(";").map((b) => b.trim());
  const dir = tmpDir("barnlink-peer-mem-");
  const broker = await startMosquitto();
  const cloud = await startCloud(
    cloudConfigSchema.parse({
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url },
      keyFile: join(dir, "cloud.key"),
      http: { port: 0 },
    }),
  );
  const bundle = await buildCli(join(ROOT, "node_modules/.cache/barnlink-bench-peer-mem/barnlink.mjs"));
  const gateway = bundle.replace(/\.mjs$/, "-agent.mjs");
  const runs: Array<{
    flags: string[];
    device: string;
    child: ChildProcess;
    phases: Array<Record<string, unknown>>;
  }> = [];
  const stops: Array<() => Promise<void>> = [];
  try {
    for (const [i, flags] of variants.entries()) {
      const pty = await openPtyPair(join(dir, `p${i}a`), join(dir, `p${i}b`));
      const slave = await startSlaveProcess({ serial: pty.b, units: [1] });
      stops.push(
        () => slave.stop(),
        () => pty.stop(),
      );
      await slave.set(1, "hr", 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const device = `mem-gw${i}`;
      const adir = join(dir, device);
      await registerDevice(
        cloud.ctx.db,
        device,
        loadOrCreateKey(join(adir, "device.key")).publicKeyB64,
        null,
        Date.now(),
      );
      const config = join(dir, `${device}.yaml`);
      const cfg = peerAgentConfig({
        device,
        dataDir: adir,
        mqttUrl: broker.url,
        publicKey: cloud.publicKey,
        port: pty.a,
      });
      writeFileSync(config, JSON.stringify(cfg));
      // NAME=value among a variant's flags is an environment variable (MALLOC_ARENA_MAX=2).
      const env = Object.fromEntries(flags.filter((f) => /^[A-Z_]+=/.test(f)).map((f) => f.split("=", 2)));
      // "unit": the flags the systemd unit would run this config with.
      const nodeFlags = flags.flatMap((f) =>
        f === "unit" ? unitNodeFlags(bundles[i] || gateway, config) : /^[A-Z_]+=/.test(f) ? [] : [f],
      );
      const child = spawn(
        process.execPath,
        [...nodeFlags, bundles[i] || gateway, "agent", "--config", config],
        {
          stdio: ["ignore", "ignore", "pipe"],
          env: { ...process.env, ...env, BARNLINK_LOG: "error", BARNLINK_MEMTRACE: "1" },
        },
      );
      const phases: Array<Record<string, unknown>> = [];
      let buf = "";
      child.stderr!.on("data", (d) => {
        buf += d;
        for (let n = buf.indexOf("\n"); n >= 0; n = buf.indexOf("\n")) {
          const line = buf.slice(0, n);
          buf = buf.slice(n + 1);
          if (line.startsWith('{"memtrace"')) phases.push(JSON.parse(line));
          else process.stderr.write(`[${device}] ${line}\n`);
        }
      });
      runs.push({ flags: nodeFlags.concat(flags.filter((f) => /^[A-Z_]+=/.test(f))), device, child, phases });
    }
    await sleep(15_000);
    const count = async (device: string) =>
      Number(
        (
          await cloud.ctx.db.kysely
            .selectFrom("records")
            .select((e) => e.fn.countAll().as("n"))
            .where("device", "=", device)
            .where("kind", "=", "block")
            .executeTakeFirstOrThrow()
        ).n,
      );
    const c0 = await Promise.all(runs.map((r) => count(r.device)));
    const t0 = Date.now();
    const m = await Promise.all(
      runs.map((r) =>
        measure(
          () => r.child.pid!,
          async () => void (await sleep(WINDOW_S * 1000)),
        ),
      ),
    );
    await sleep(3000);
    const secs = (Date.now() - t0 - 3000) / 1000;
    const c1 = await Promise.all(runs.map((r) => count(r.device)));
    const lines = [];
    const base = m[0]!;
    for (const [i, r] of runs.entries()) {
      const name = `${i}: ${r.flags.join(" ") || "(no flags)"}${bundles[i] ? ` ${bundles[i]}` : ""}`;
      for (const p of r.phases.filter((p) => p.memtrace !== "running"))
        lines.push({
          bench: "peer-mem",
          metric: `${name}: RSS after ${p.memtrace} (heap used ${p.heapUsed} MB, code ${p.code} MB)`,
          value: p.rss as number,
          unit: "MB",
        });
      const run = r.phases.filter((p) => p.memtrace === "running").at(-1);
      if (run)
        lines.push({
          bench: "peer-mem",
          metric: `${name}: last running trace (heap total ${run.heapTotal}, used ${run.heapUsed}, external ${run.external}, malloced ${run.malloced}, code ${run.code} MB)`,
          value: run.rss as number,
          unit: "MB",
        });
      const pair = (metric: string, v: number, b: number, unit: string) =>
        lines.push({
          bench: "peer-mem",
          metric: `${name}: ${metric}`,
          value: v,
          unit,
          baseline: b,
          ratio: b ? v / b : undefined,
        });
      pair("RSS median", m[i]!.rssMedian, base.rssMedian, "MB");
      pair("RSS peak", m[i]!.rssPeak, base.rssPeak, "MB");
      pair("CPU", m[i]!.cpuPct, base.cpuPct, "% of one core");
      pair("readings/s committed", (c1[i]! - c0[i]!) / secs, (c1[0]! - c0[0]!) / secs, "/s");
    }
    return lines;
  } finally {
    // SIGTERM first: an agent run with --cpu-prof or --heap-prof writes its profile as it exits.
    await Promise.all(
      runs.map(
        (r) =>
          new Promise<void>((resolve) => {
            if (r.child.exitCode !== null) return resolve();
            const kill = setTimeout(() => r.child.kill("SIGKILL"), 10_000);
            r.child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            r.child.kill("SIGTERM");
          }),
      ),
    );
    await cloud.stop();
    await broker.stop();
    for (const s of stops) await s().catch(() => {});
  }
}
