import type { Agent } from "../agent.ts";

/** code + subject of every alarm active now (warning or critical), from the agent's recent alarms. */
export function activeAlarms(agent: Agent): Map<string, string> {
  const seen = new Set<string>();
  const active = new Map<string, string>();
  // recentAlarms is newest first: the first entry of a code+subject is its current state.
  for (const a of agent.recentAlarms) {
    const k = `${a.code}\0${a.subject}`;
    if (seen.has(k)) continue;
    seen.add(k);
    if (a.active && a.severity !== "info") active.set(k, `${a.code} (${a.subject}): ${a.message}`);
  }
  return active;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Watches an agent started with a new config for `deadlineMs`: it is healthy if, by then, its link
 * is connected to the broker with its command subscription granted (the cloud can still reach it),
 * and no source raised an alarm that was not already active under the previous config (a wrong
 * serial port, an unreachable camera). A new alarm fails it at once; the link is judged at the end.
 */
export async function probation(
  agent: Agent,
  before: ReadonlyMap<string, string>,
  deadlineMs: number,
  signal?: AbortSignal,
): Promise<Verdict> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    for (const [k, why] of activeAlarms(agent)) if (!before.has(k)) return { ok: false, reason: why };
    if (signal?.aborted) return { ok: false, reason: "the agent stopped during probation" };
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(1, end - Date.now()))));
  }
  const s = agent.link.stats;
  if (!s.connected || !s.subscribed)
    return {
      ok: false,
      reason: `no broker connection within ${Math.round(deadlineMs / 1000)} s (${brokerOf(agent)})`,
    };
  return { ok: true };
}

/** The broker URL without credentials. */
export const brokerOf = (agent: Agent) => agent.config.cloud.mqtt.url.replace(/\/\/[^@/]*@/, "//");
