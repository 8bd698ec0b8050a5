import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { serviceAvailable, tcpReachable, tmpDir } from "./services.ts";

/** The mosquitto binary (for brokers of a test's own); skipped off CI when missing, like services. */
export const mosquittoBinaryAvailable = () =>
  serviceAvailable("the mosquitto binary", async () => spawnSync("mosquitto", ["-h"]).error === undefined);

export interface MosquittoHandle {
  port: number;
  url: string;
  /** The broker process's pid (its CPU from /proc, in benchmarks); changes on restart. */
  readonly pid: number;
  /** Stops (SIGTERM: it saves its persistence) and starts again on the same port and store. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A Mosquitto of the test's own, as a child process with persistence, so a test can restart the
 * broker without touching the machine's shared one on 1883.
 */
export async function startMosquitto(extra: string[] = []): Promise<MosquittoHandle> {
  const dir = tmpDir("barnlink-mosq-");
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${dir}/`,
      "max_queued_messages 10000",
      ...extra,
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const up = async () => {
    child = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
    const end = Date.now() + 10_000;
    while (!(await tcpReachable("127.0.0.1", port, 200))) {
      if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const down = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once("exit", () => r());
      c.kill("SIGTERM");
    });
  };
  await up();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    async restart(downMs = 500) {
      await down();
      await new Promise((r) => setTimeout(r, downMs));
      await up();
    },
    stop: down,
  };
}
