import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../../cloud/broker/broker.ts";
import { issueBrokerSecret } from "../../cloud/broker/credentials.ts";
import { newSecret } from "../../cloud/broker/passwords.ts";
import { RegistryAuth } from "../../cloud/broker/registry-auth.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { cloudModules } from "../../cloud/modules.ts";
import { startCloud } from "../../cloud/service.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { ProgressBar } from "../../core/progress.ts";
import { out } from "../cli-kit.ts";
import { type DemoAgent, drainAgents, forkAgent, send, stopAgents, waitReady } from "./agents.ts";
import { demoBarns, writeAgentConfig } from "./configs.ts";
import { seedDemoLending } from "./lending-setup.ts";
import { startDemoModbus } from "./modbus.ts";
import { demoRobot } from "./patrol.ts";
import { pending, printSummary, statusLine } from "./summary.ts";

export interface DemoRun {
  dir: string;
  durationMs?: number;
  duration?: string;
  nBarns: number;
  speed: number;
  httpPort: number;
  mqttPort: number;
  /** What was started, stopped in reverse by the caller whatever happens. */
  cleanups: Array<() => Promise<unknown>>;
  /** How many SIGINT/SIGTERM arrived so far. */
  signals(): number;
}

const interruptedNote = () => {
  out("");
  out("stopped during start-up (Ctrl-C): everything started so far is stopped, nothing is left behind");
  return 0;
};

/** The demo after its arguments are parsed: start-up, the run, the drain and the summary. */
export async function runDemo(o: DemoRun): Promise<number> {
  const { dir, speed, nBarns, cleanups } = o;
  const stopAsked = () => o.signals() > 0;
  const log = createLogger("demo", process.env.BARNLINK_LOG ?? "warn");
  // Authentication and ACLs on, as in production: the cloud has its account, each barn its own.
  const brokerAuth = new RegistryAuth([{ username: "cloud-1", password: newSecret(), kind: "cloud" }]);
  const broker = await startBroker({ port: o.mqttPort, fallbackToFree: true, log, auth: brokerAuth });
  cleanups.push(() => broker.close());
  out(
    `MQTT broker (aedes)   ${broker.url}${broker.port !== o.mqttPort && o.mqttPort !== 0 ? `  (port ${o.mqttPort} was taken)` : ""}`,
  );
  if (stopAsked()) return interruptedNote();

  const token = randomBytes(18).toString("base64url");
  const auditorToken = randomBytes(18).toString("base64url");
  // A second officer, so the maker-checker approval of an override can be tried in the demo.
  const officerToken = randomBytes(18).toString("base64url");
  const start = new Date(Date.UTC(2026, 2, 1)).toISOString();
  const cloudCfg = cloudConfigSchema.parse({
    database: { url: join(dir, "cloud.db") },
    mqtt: { url: broker.url, username: "cloud-1", password: brokerAuth.passwordOf("cloud-1") },
    http: { port: o.httpPort },
    keyFile: join(dir, "cloud.key"),
    modelsDir: join(dir, "models"),
    tokens: [
      { name: "demo-admin", role: "admin", token },
      { name: "demo-auditor", role: "auditor", token: auditorToken },
      { name: "demo-officer", role: "officer", token: officerToken },
    ],
  });
  const simStart = Date.parse(start);
  // Simulated time stands still at the start until every agent is up (a cold start compiles
  // TypeScript, slowly on a busy machine), then runs for the cloud and every barn from one origin.
  let t0: number | undefined;
  const now = () => (t0 === undefined ? simStart : simStart + (Date.now() - t0) * speed);
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
  cleanups.push(() => cloud.stop());
  brokerAuth.attach(cloud.ctx.db);
  out(`cloud API + dashboard ${cloud.url}/#token=${token}`);
  out(`API token (admin)     ${token}`);
  out(`API token (auditor)   ${auditorToken}   (read-only dashboard)`);
  out(`API token (officer)   ${officerToken}   (a second officer: approves overrides)`);
  out(`cloud metrics         ${cloud.url}/metrics`);
  if (stopAsked()) return interruptedNote();

  const barns = demoBarns(dir, nBarns);
  // Barns report for a day and a half before the pigs are placed and the first tranche falls due.
  const placedAt = simStart + 1.5 * 86_400_000;
  await seedDemoLending(cloud.ctx, barns, placedAt);
  // A data-centre patrol robot runs beside the barns (planted faults: a red lamp, a hot rack).
  barns.push(demoRobot(dir));
  // Barn 1 also reads real Modbus RTU over a socat pty pair from a pymodbus slave, when both exist.
  const modbus = await startDemoModbus(dir, now);
  cleanups.push(() => modbus.stop());
  out(modbus.note);
  if (stopAsked()) return interruptedNote();
  if (modbus.source && barns[0]) barns[0].extraSources = [modbus.source];
  // Barn 1 gets a synthetic pen camera, so its gateway page shows a snapshot with a region drawn.
  barns[0]!.extraSources = [
    ...(barns[0]!.extraSources ?? []),
    { driver: "sim-camera", name: "pen-1", fps: 1, pigs: 3 },
  ];
  barns[0]!.http = { rois: { "pen-1": [{ left: 40, top: 40, width: 120, height: 90 }] } };
  const agents: DemoAgent[] = [];
  cleanups.push(() => stopAgents(agents));
  for (const [i, b] of barns.entries()) {
    mkdirSync(b.dataDir, { recursive: true });
    const key = loadOrCreateKey(join(b.dataDir, "device.key"));
    await registerDevice(cloud.ctx.db, b.device, key.publicKeyB64, b.name, Date.now());
    writeAgentConfig(b, {
      mqttUrl: broker.url,
      mqttPassword: await issueBrokerSecret(cloud.ctx.db, b.device, Date.now()),
      cloudPublicKey: cloud.publicKey,
      speed,
      start,
      origin: start,
      placedAt: new Date(placedAt).toISOString(),
      seed: i + 1,
    });
    agents.push(forkAgent(b, dir));
  }
  out(`starting ${nBarns} simulated barns and a patrol robot as agent processes (logs and data in ${dir})…`);
  const up = await waitReady(agents, stopAsked);
  if (up === "stopped") return interruptedNote();
  if (up === "exited") {
    for (const a of agents.filter((x) => x.exited))
      out(`${a.device}: the agent exited during start-up; see ${a.log}`);
    return 1;
  }
  t0 = Date.now();
  for (const a of agents) send(a, { type: "clock", origin: t0 });
  const robots = barns.filter((b) => b.patrol).length;
  out(
    `${agents.length - robots}/${nBarns} simulated barns running as agent processes${robots ? `, and ${robots} patrol robot${robots > 1 ? "s" : ""}` : ""}`,
  );
  for (const a of agents) if (a.gatewayUrl) out(`gateway page ${a.device.padEnd(8)} ${a.gatewayUrl}/`);
  out(
    `simulated time: ${speed}× (one barn-day every ${(86_400 / speed).toFixed(1)} s)${o.durationMs ? `; stopping after ${o.duration}` : "; Ctrl-C stops"}`,
  );

  const tty = process.stdout.isTTY === true;
  let lastPrint = 0;
  const ticker = setInterval(() => {
    void statusLine(cloud.ctx.db, agents, (now() - simStart) / 86_400_000)
      .then((text) => {
        if (tty) {
          const cols = (process.stdout.columns ?? 160) - 1;
          process.stdout.write(`\r${text.padEnd(cols).slice(0, cols)}`);
        } else if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          out(text);
        }
      })
      .catch(() => {});
  }, 1000);
  const until = o.durationMs ? Date.now() + o.durationMs : Number.POSITIVE_INFINITY;
  while (!stopAsked() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  clearInterval(ticker);
  if (tty) process.stdout.write("\n");
  out("stopping sources and draining every outbox…");
  const forced = setInterval(() => {
    if (o.signals() >= 2) void stopAgents(agents, 5_000);
  }, 200);
  const backlog = agents.reduce((n, a) => n + pending(a.status), 0);
  const bar = new ProgressBar("draining outboxes", Math.max(1, backlog), process.stdout);
  const drainTicker = setInterval(() => {
    const left = agents.reduce((n, a) => n + pending(a.status), 0);
    bar.update(Math.max(0, backlog - left), "records committed");
  }, 250);
  const drained = await drainAgents(agents, 120_000);
  clearInterval(forced);
  clearInterval(drainTicker);
  bar.update(bar.total, "records committed");
  bar.end();
  const allGood = await printSummary(cloud, drained);
  return o.durationMs && !allGood ? 1 : 0;
}
