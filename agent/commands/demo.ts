import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseDuration } from "../../core/config.ts";
import { ERR_USAGE } from "../../core/errors.ts";
import { args, type CommandSpec, out } from "../cli-kit.ts";
import { runDemo } from "../demo/run.ts";

const usage =
  "barnlink demo [--duration 30s] [--barns 3] [--speed 8640] [--http-port 8080] [--mqtt-port 1883] [--keep]";

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
    const port = (flag: string, fallback: number) => {
      const v = a.values[flag as "http-port"];
      const n = v === undefined ? fallback : Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65_535 || (v !== undefined && !/^\d+$/.test(v)))
        throw ERR_USAGE(`--${flag} must be a port number 0–65535 (0: any free port), got "${v}"`);
      return n;
    };
    const httpPort = port("http-port", 8080);
    const mqttPort = port("mqtt-port", 1883);

    const dir = a.values.dir ? resolve(a.values.dir) : mkdtempSync(join(tmpdir(), "barnlink-demo-"));
    mkdirSync(dir, { recursive: true });
    // Ctrl-C at any moment: during start-up everything started so far is stopped (in reverse);
    // once running, every gateway drains first. The agents run in their own process groups, so
    // a terminal's SIGINT reaches only this process, which forwards it over IPC as a drain.
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 2) process.stderr.write("\nCtrl-C again: agents are told to stop without waiting\n");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const cleanups: Array<() => Promise<unknown>> = [];
    try {
      return await runDemo({
        dir,
        durationMs,
        nBarns,
        speed,
        httpPort,
        mqttPort,
        cleanups,
        signals: () => signals,
        duration: a.values.duration,
      });
    } finally {
      for (const c of cleanups.reverse()) await c().catch(() => {});
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (!a.values.keep && !a.values.dir) rmSync(dir, { recursive: true, force: true });
      else out(`data kept in ${dir}`);
    }
  },
};
