// Parts of the peer benchmark (bench/peer.ts): the Node-RED install and flow, process sampling.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Pinned like the run: Node-RED 4.1.x with node-red-contrib-modbus 5.23.x, from the npm registry. */
export const NODE_RED = "node-red@4.1.x";
export const NODE_RED_MODBUS = "node-red-contrib-modbus@5.23.x";

/** Installs Node-RED into a scratch folder outside the repository (once; reused by later runs). */
export function ensureNodeRed(dir: string): string {
  const red = join(dir, "node_modules/node-red/red.js");
  if (existsSync(red) && existsSync(join(dir, "node_modules/node-red-contrib-modbus"))) return red;
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, "package.json")))
    writeFileSync(join(dir, "package.json"), '{"name":"barnlink-peer-nodered","private":true}\n');
  process.stderr.write(`installing ${NODE_RED} + ${NODE_RED_MODBUS} into ${dir} (minutes)…\n`);
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund", NODE_RED, NODE_RED_MODBUS], {
    cwd: dir,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error(`npm install of Node-RED in ${dir} failed (${r.status})`);
  return red;
}

/** The peer job as barnlink's agent config: one Modbus RTU source, 10 holding registers every 100 ms. */
export function peerAgentConfig(o: {
  device: string;
  dataDir: string;
  mqttUrl: string;
  publicKey: string;
  port: string;
}) {
  return {
    device: o.device,
    dataDir: o.dataDir,
    cloud: { mqtt: { url: o.mqttUrl }, publicKey: o.publicKey },
    sync: { linger: "1s" },
    clock: { synced: "always" },
    http: { enabled: false },
    sources: [
      {
        driver: "modbus",
        name: "bus",
        port: o.port,
        devices: [
          {
            name: "dev1",
            unit: 1,
            interval: "100ms",
            registers: Array.from({ length: 10 }, (_, i) => ({
              sensor: `r${i}`,
              table: "holding",
              address: i,
            })),
          },
        ],
      },
    ],
  };
}

/** The peer job as a Node-RED flow: read 10 holding registers every 100 ms over RTU, publish QoS 1. */
export function writeNodeRedFlow(
  userDir: string,
  o: { serialPort: string; mqttPort: number; topic: string; uiPort: number },
): string {
  mkdirSync(userDir, { recursive: true });
  const flows = [
    { id: "tab1", type: "tab", label: "peer" },
    {
      id: "client1",
      type: "modbus-client",
      name: "rtu",
      clienttype: "simpleser",
      bufferCommands: true,
      stateLogEnabled: false,
      queueLogEnabled: false,
      failureLogEnabled: false,
      tcpHost: "127.0.0.1",
      tcpPort: "502",
      tcpType: "DEFAULT",
      serialPort: o.serialPort,
      serialType: "RTU-BUFFERD",
      serialBaudrate: "9600",
      serialDatabits: "8",
      serialStopbits: "1",
      serialParity: "none",
      serialConnectionDelay: "100",
      serialAsciiResponseStartDelimiter: "0x3A",
      unit_id: "1",
      commandDelay: "1",
      clientTimeout: "1000",
      reconnectOnTimeout: true,
      reconnectTimeout: "2000",
      parallelUnitIdsAllowed: true,
      showErrors: false,
      showWarnings: false,
      showLogs: false,
    },
    {
      id: "read1",
      type: "modbus-read",
      z: "tab1",
      name: "regs",
      topic: "",
      showStatusActivities: false,
      logIOActivities: false,
      showErrors: false,
      showWarnings: false,
      unitid: "1",
      dataType: "HoldingRegister",
      adr: "0",
      quantity: "10",
      rate: "100",
      rateUnit: "ms",
      delayOnStart: false,
      startDelayTime: "",
      server: "client1",
      useIOFile: false,
      ioFile: "",
      useIOForPayload: false,
      emptyMsgOnFail: false,
      x: 100,
      y: 100,
      wires: [["out1"], []],
    },
    {
      id: "broker1",
      type: "mqtt-broker",
      name: "mosquitto",
      broker: "127.0.0.1",
      port: String(o.mqttPort),
      clientid: "",
      autoConnect: true,
      usetls: false,
      protocolVersion: "4",
      keepalive: "60",
      cleansession: true,
      autoUnsubscribe: true,
    },
    {
      id: "out1",
      type: "mqtt out",
      z: "tab1",
      name: "up",
      topic: o.topic,
      qos: "1",
      retain: "false",
      broker: "broker1",
      x: 300,
      y: 100,
      wires: [],
    },
  ];
  writeFileSync(join(userDir, "flows.json"), JSON.stringify(flows));
  const settings = join(userDir, "settings.js");
  writeFileSync(
    settings,
    `module.exports = { uiPort: ${o.uiPort}, uiHost: "127.0.0.1", userDir: ${JSON.stringify(userDir)}, flowFile: "flows.json", httpAdminRoot: false, httpNodeRoot: false, credentialSecret: false, logging: { console: { level: "warn" } } };\n`,
  );
  return settings;
}

export function startNodeRed(red: string, settings: string, cwd: string): ChildProcess {
  return spawn(process.execPath, [red, "-s", settings], { cwd, stdio: ["ignore", "ignore", "inherit"] });
}

/** RSS (MB) and CPU seconds of a process, from /proc. */
export function sampleProc(pid: number): { rssMb: number; cpuS: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 (proc(5)), here 12 and 13 after pid and comm; in ticks of 1/100 s.
    return { rssMb: rss, cpuS: (Number(f[11]) + Number(f[12])) / 100 };
  } catch {
    return null;
  }
}

/** Samples a process every second while `run` runs: median and peak RSS, CPU as % of one core. */
export async function measure(pid: () => number, run: () => Promise<void>) {
  const rss: number[] = [];
  const t0 = performance.now();
  const c0 = sampleProc(pid())?.cpuS ?? 0;
  const timer = setInterval(() => {
    const s = sampleProc(pid());
    if (s) rss.push(s.rssMb);
  }, 1000);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  const cpu = ((sampleProc(pid())?.cpuS ?? c0) - c0) / ((performance.now() - t0) / 1000);
  rss.sort((a, b) => a - b);
  return { rssMedian: rss[Math.floor(rss.length / 2)] ?? 0, rssPeak: rss.at(-1) ?? 0, cpuPct: cpu * 100 };
}

/**
 * The node flags production runs the agent with: deploy/barnlink-agent.service's ExecStart, with
 * `$BARNLINK_NODE_FLAGS` as its ExecStartPre= writes it for `config` (`agent node-flags`, run from
 * the same gateway bundle).
 */
export function unitNodeFlags(gateway: string, config: string): string[] {
  const unit = readFileSync(join(import.meta.dirname, "../deploy/barnlink-agent.service"), "utf8");
  const exec = /^ExecStart=\S+node((?: (?:--[\w-]+(?:=\S+)?|\$BARNLINK_NODE_FLAGS))*) /m.exec(unit);
  if (!exec) throw new Error("deploy/barnlink-agent.service: no ExecStart=…node … line");
  const fixed = exec[1]!.trim().split(" ").filter(Boolean);
  if (!fixed.includes("$BARNLINK_NODE_FLAGS")) return fixed;
  const r = spawnSync(process.execPath, [gateway, "agent", "node-flags", "--config", config], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`agent node-flags --config ${config}: ${r.stderr}`);
  const extra = r.stdout.trim().split(/\s+/).filter(Boolean);
  return fixed.flatMap((f) => (f === "$BARNLINK_NODE_FLAGS" ? extra : [f]));
}
