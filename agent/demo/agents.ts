import { type ChildProcess, fork } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { CLI_ENTRY } from "../../core/paths.ts";
import type { DemoBarn } from "./configs.ts";

export interface AgentStatus {
  streams: Array<{ stream: string; lastSeq: number; ackedSeq: number; pending: number }>;
  link: { connected: boolean };
}

export interface DemoAgent {
  device: string;
  child: ChildProcess;
  log: string;
  status?: AgentStatus;
  gatewayUrl?: string;
  ready: boolean;
  exited: boolean;
}

interface AgentMessage {
  type: string;
  status?: AgentStatus;
  gatewayUrl?: string;
  ok?: boolean;
}

/**
 * Starts one barn's agent as a child process in its OWN process group (`detached`: setsid), so a
 * terminal's Ctrl-C (SIGINT to the whole foreground group) reaches only the demo, which then drains
 * each agent over IPC. Its simulated clock is held until the demo releases every clock at once.
 */
export function forkAgent(b: DemoBarn, dir: string): DemoAgent {
  const log = join(dir, `${b.device}.log`);
  const logFd = openSync(log, "a");
  const child = fork(CLI_ENTRY, ["agent", "--config", b.configFile], {
    stdio: ["ignore", logFd, logFd, "ipc"],
    detached: true,
    env: { ...process.env, BARNLINK_DEMO_CLOCK: "hold" },
  });
  const a: DemoAgent = { device: b.device, child, log, ready: false, exited: false };
  child.on("message", (m: AgentMessage) => {
    if (m.status) a.status = m.status;
    if (m.gatewayUrl) a.gatewayUrl = m.gatewayUrl;
    if (m.type === "ready") a.ready = true;
  });
  child.once("exit", () => {
    a.exited = true;
  });
  // A send racing the child's exit fails with EPIPE/ERR_IPC_CHANNEL_CLOSED: the exit handler reports it.
  child.on("error", () => {});
  return a;
}

/** Waits until every agent is ready, one has exited, or `stop()` says so. */
export async function waitReady(
  agents: DemoAgent[],
  stop: () => boolean,
): Promise<"ready" | "exited" | "stopped"> {
  for (;;) {
    if (stop()) return "stopped";
    if (agents.some((a) => a.exited)) return "exited";
    if (agents.every((a) => a.ready)) return "ready";
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function send(a: DemoAgent, m: object): void {
  if (!a.exited && a.child.connected) a.child.send(m, () => {});
}

/** Asks each agent to stop its sources and wait until its outbox is committed. */
export function drainAgents(
  agents: DemoAgent[],
  timeoutMs: number,
): Promise<Array<{ device: string; ok: boolean; status?: AgentStatus }>> {
  return Promise.all(
    agents.map(
      (a) =>
        new Promise<{ device: string; ok: boolean; status?: AgentStatus }>((resolve) => {
          if (a.exited) return resolve({ device: a.device, ok: false, status: a.status });
          const t = setTimeout(
            () => resolve({ device: a.device, ok: false, status: a.status }),
            timeoutMs + 15_000,
          );
          a.child.on("message", (m: AgentMessage) => {
            if (m.type === "drained") {
              clearTimeout(t);
              resolve({ device: a.device, ok: m.ok === true, status: m.status ?? a.status });
            }
          });
          a.child.once("exit", () => resolve({ device: a.device, ok: false, status: a.status }));
          send(a, { type: "drain", timeoutMs });
        }),
    ),
  );
}

/** SIGTERM (the agent closes its outbox cleanly), SIGKILL after a grace period; waits until all are gone. */
export async function stopAgents(agents: DemoAgent[], graceMs = 20_000): Promise<void> {
  await Promise.all(
    agents.map(async (a) => {
      if (a.exited || a.child.exitCode !== null || a.child.signalCode !== null) return;
      const gone = new Promise((r) => a.child.once("exit", r));
      a.child.kill("SIGTERM");
      const t = setTimeout(() => a.child.kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(t);
    }),
  );
}
