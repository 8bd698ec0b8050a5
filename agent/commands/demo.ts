import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startBroker } from "../../cloud/broker/broker.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { startCloud } from "../../cloud/service.ts";
import { parseDuration } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { CLI_ENTRY } from "../../core/paths.ts";
import { ProgressBar } from "../../core/progress.ts";
import { args, type CommandSpec, out } from "../cli-kit.ts";
import { demoBarns, writeAgentConfig } from "../demo/configs.ts";
import { seedDemoLending } from "../demo/lending-setup.ts";
import { startDemoModbus } from "../demo/modbus.ts";
import { demoRobot } from "../demo/patrol.ts";

const usage =
  "barnlink demo [--duration 30s] [--barns 3] [--speed 8640] [--http-port 8080] [--mqtt-port 1883] [--keep]";

interface AgentStatus {
  streams: Array<{ stream: string; lastSeq: number; ackedSeq: number; pending: number }>;
  link: { connected: boolean };
}

/**
 * The whole system on one machine: embedded broker, cloud (SQLite), and simulated barns as
 * separate agent processes, with simulated time running fast. With --duration it stops by itself,
 * drains every outbox, and exits 0 only if every record produced was committed.
 */
export const demo: CommandSpec = {
  name: "demo",
  summary: "Run broker, cloud and simulated barns together (what `npm start` runs)",
  usage,
  async run(argv) {
    const a = args(
      argv,
      {
        duration: { type: "string" },
        barns: { type: "string" },
        speed: { type: "string" },
        "http-port": { type: "string" },
        "mqtt-port": { type: "string" },
        keep: { type: "boolean" },
        dir: { type: "string" },
      },
      usage,
    );
    let durationMs: number | undefined;
    try {
      durationMs = a.values.duration ? parseDuration(a.values.duration) : undefined;
    } catch (e) {
      throw ERR_USAGE(`--duration: ${(e as Error).message}`);
    }
    const nBarns = Number(a.values.barns ?? 3);
    if (!Number.isInteger(nBarns) || nBarns < 1 || nBarns > 50)
      throw ERR_USAGE(`--barns must be 1–50, got ${a.values.barns}`);
    const speed = Number(a.values.speed ?? 8640);
    if (!(speed > 0)) throw ERR_USAGE(`--speed must be a positive number, got ${a.values.speed}`);
    const httpPort = Number(a.values["http-port"] ?? 8080);
    const mqttPort = Number(a.values["mqtt-port"] ?? 1883);

    const dir = a.values.dir ? resolve(a.values.dir) : mkdtempSync(join(tmpdir(), "barnlink-demo-"));
    mkdirSync(dir, { recursive: true });
    const log = createLogger("demo", process.env.BARNLINK_LOG ?? "warn");
    const broker = await startBroker({ port: mqttPort, fallbackToFree: true, log });
    out(
      `MQTT broker (aedes)   ${broker.url}${broker.port !== mqttPort ? `  (port ${mqttPort} was taken)` : ""}`,
    );

    const token = randomBytes(18).toString("base64url");
    const auditorToken = randomBytes(18).toString("base64url");
    const start = new Date(Date.UTC(2026, 2, 1)).toISOString();
    const cloudCfg = cloudConfigSchema.parse({
      database: { url: join(dir, "cloud.db") },
      mqtt: { url: broker.url },
      http: { port: httpPort },
      keyFile: join(dir, "cloud.key"),
      modelsDir: join(dir, "models"),
      tokens: [
        { name: "demo-admin", role: "admin", token },
        { name: "demo-auditor", role: "auditor", token: auditorToken },
      ],
    });
    const simStart = Date.parse(start);
    const t0 = Date.now();
    // The cloud runs on the barns' simulated clock so the lending engine sees barn-days pass.
    const now = () => simStart + (Date.now() - t0) * speed;
    const mods = cloudModules({ lendingIntervalMs: 500, modelsDir: cloudCfg.modelsDir });
    let cloud: Awaited<ReturnType<typeof startCloud>>;
    try {
      cloud = await startCloud(cloudCfg, { log, modules: mods.modules, jobs: mods.jobs, now });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      cloud = await startCloud(
        { ...cloudCfg, http: { ...cloudCfg.http, port: 0 } },
        { log, modules: mods.modules, jobs: mods.jobs, now },
      );
    }
    out(`cloud API + dashboard ${cloud.url}/#token=${token}`);
    out(`API token (admin)     ${token}`);
    out(`API token (auditor)   ${auditorToken}   (read-only dashboard)`);
    out(`cloud metrics         ${cloud.url}/metrics`);

    const barns = demoBarns(dir, nBarns);
    // Barns report for a day and a half before the pigs are placed and the first tranche falls due.
    const placedAt = simStart + 1.5 * 86_400_000;
    await seedDemoLending(cloud.ctx, barns, placedAt);
    // A data-centre patrol robot runs beside the barns (planted faults: a red lamp, a hot rack).
    barns.push(demoRobot(dir));
    // Barn 1 also reads real Modbus RTU over a socat pty pair from a pymodbus slave, when both exist.
    const modbus = await startDemoModbus(dir, now);
    out(modbus.note);
    if (modbus.source && barns[0]) barns[0].extraSources = [modbus.source];
    // Barn 1 gets a synthetic pen camera, so its gateway page shows a snapshot with a region drawn.
    barns[0]!.extraSources = [
      ...(barns[0]!.extraSources ?? []),
      { driver: "sim-camera", name: "pen-1", fps: 1, pigs: 3 },
    ];
    barns[0]!.http = { rois: { "pen-1": [{ left: 40, top: 40, width: 120, height: 90 }] } };
    const children = new Map<string, ChildProcess>();
    const last = new Map<string, AgentStatus>();
    const gateways = new Map<string, string>();
    for (const [i, b] of barns.entries()) {
      mkdirSync(b.dataDir, { recursive: true });
      const key = loadOrCreateKey(join(b.dataDir, "device.key"));
      await registerDevice(cloud.ctx.db, b.device, key.publicKeyB64, b.name, Date.now());
      writeAgentConfig(b, {
        mqttUrl: broker.url,
        cloudPublicKey: cloud.publicKey,
        speed,
        start,
        origin: new Date(t0).toISOString(),
        placedAt: new Date(placedAt).toISOString(),
        seed: i + 1,
      });
      const logFd = openSync(join(dir, `${b.device}.log`), "a");
      const child = fork(CLI_ENTRY, ["agent", "--config", b.configFile], {
        stdio: ["ignore", logFd, logFd, "ipc"],
      });
      child.on("message", (m: { type: string; status?: AgentStatus; gatewayUrl?: string }) => {
        if (m.type === "status" && m.status) last.set(b.device, m.status);
        if (m.gatewayUrl) gateways.set(b.device, m.gatewayUrl);
      });
      children.set(b.device, child);
    }
    // The clock for --duration starts once every agent is up (a cold start compiles TypeScript).
    const readyBy = Date.now() + 60_000;
    while (last.size < nBarns && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 100));
    out(`${last.size}/${nBarns} simulated barns running as agent processes; logs and data in ${dir}`);
    for (const b of barns)
      if (gateways.has(b.device)) out(`gateway page ${b.device.padEnd(8)} ${gateways.get(b.device)}/`);
    out(
      `simulated time: ${speed}× (one barn-day every ${(86_400 / speed).toFixed(1)} s)${durationMs ? `; stopping after ${a.values.duration}` : "; Ctrl-C stops"}`,
    );

    const committedOf = async () => {
      const rows = await cloud.ctx.db.kysely
        .selectFrom("streams")
        .select(["device", (eb) => eb.fn.sum<number>("count").as("n")])
        .groupBy("device")
        .execute();
      return new Map(rows.map((r) => [r.device, Number(r.n)]));
    };
    const produced = (s?: AgentStatus) => (s ? s.streams.reduce((n, x) => n + x.lastSeq, 0) : 0);
    const pending = (s?: AgentStatus) => (s ? s.streams.reduce((n, x) => n + x.pending, 0) : 0);
    const tty = process.stdout.isTTY;
    let lastPrint = 0;
    const line = async () => {
      const committed = await committedOf();
      const day = ((now() - simStart) / 86_400_000).toFixed(1);
      const parts = barns.map((b) => {
        const s = last.get(b.device);
        return `${b.device} ${produced(s)}/${committed.get(b.device) ?? 0}/${pending(s)}${s?.link.connected ? "" : " (offline)"}`;
      });
      const text = `day ${day} · produced/committed/pending: ${parts.join(" · ")}`;
      if (tty)
        process.stdout.write(
          `\r${text.padEnd(process.stdout.columns ? process.stdout.columns - 1 : 120).slice(0, (process.stdout.columns ?? 160) - 1)}`,
        );
      else if (Date.now() - lastPrint > 5000) {
        lastPrint = Date.now();
        out(text);
      }
    };
    const ticker = setInterval(() => void line().catch(() => {}), 1000);

    await new Promise<void>((resolve) => {
      const timer = durationMs ? setTimeout(resolve, durationMs) : undefined;
      const stop = () => {
        clearTimeout(timer);
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    clearInterval(ticker);
    if (tty) process.stdout.write("\n");
    out("stopping sources and draining every outbox…");
    const backlog = barns.reduce((n, b) => n + pending(last.get(b.device)), 0);
    const bar = new ProgressBar("draining outboxes", Math.max(1, backlog), process.stdout);
    const drainTicker = setInterval(() => {
      const left = barns.reduce((n, b) => n + pending(last.get(b.device)), 0);
      bar.update(Math.max(0, backlog - left), "records committed");
    }, 250);

    const drained = await Promise.all(
      [...children.entries()].map(
        ([device, child]) =>
          new Promise<{ device: string; ok: boolean; status?: AgentStatus }>((resolve) => {
            const t = setTimeout(() => resolve({ device, ok: false, status: last.get(device) }), 60_000);
            child.on("message", (m: { type: string; ok?: boolean; status?: AgentStatus }) => {
              if (m.type === "drained") {
                clearTimeout(t);
                resolve({ device, ok: m.ok === true, status: m.status });
              }
            });
            child.once("exit", () => resolve({ device, ok: false, status: last.get(device) }));
            child.send({ type: "drain", timeoutMs: 45_000 });
          }),
      ),
    );
    clearInterval(drainTicker);
    bar.update(bar.total, "records committed");
    bar.end();
    const committed = await committedOf();
    let allGood = true;
    out("");
    out("summary");
    out(
      `  ${"barn".padEnd(8)} ${"produced".padStart(9)} ${"committed".padStart(9)} ${"pending".padStart(8)}  result`,
    );
    for (const d of drained) {
      const p = produced(d.status);
      const c = committed.get(d.device) ?? 0;
      const good = d.ok && p === c && pending(d.status) === 0;
      allGood &&= good;
      out(
        `  ${d.device.padEnd(8)} ${String(p).padStart(9)} ${String(c).padStart(9)} ${String(pending(d.status)).padStart(8)}  ${good ? "every record committed" : "NOT all committed"}`,
      );
    }
    const decisions = await cloud.ctx.db.kysely
      .selectFrom("lending_decisions as d")
      .innerJoin("lending_tranches as t", "t.id", "d.tranche_id")
      .select(["t.batch_id", "t.seq", "d.outcome", "d.amount_fen", "d.reasons"])
      .orderBy("t.batch_id")
      .orderBy("t.seq")
      .execute();
    if (decisions.length) out("  tranche decisions (feed paid to Golden Valley Feed Co.):");
    for (const d of decisions) {
      const reasons = JSON.parse(d.reasons) as string[];
      out(
        `    ${d.batch_id} #${d.seq}: ${d.outcome.padEnd(8)} ¥${(Number(d.amount_fen) / 100).toFixed(2).padStart(10)}${reasons.length ? `  — ${reasons.join("; ")}` : ""}`,
      );
    }
    const ing = cloud.ingest.counters;
    out(
      `  cloud: ${ing.batches} batches, ${ing.records} records stored, ${ing.duplicates} duplicates ignored, ${ing.rejected} rejected`,
    );
    const dbg = (s: string) => process.env.BARNLINK_DEBUG_DEMO && process.stderr.write(`[demo] ${s}\n`);
    dbg("killing agents");
    for (const child of children.values()) child.kill("SIGTERM");
    await Promise.all(
      [...children.values()].map((c) =>
        c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)),
      ),
    );
    dbg("agents exited");
    await modbus.stop();
    await cloud.stop();
    dbg("cloud stopped");
    await broker.close();
    dbg("broker closed");
    if (!a.values.keep && !a.values.dir) rmSync(dir, { recursive: true, force: true });
    else out(`data kept in ${dir}`);
    return durationMs && !allGood ? 1 : 0;
  },
};
