import type { KeyObject } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { generateKeyPair } from "../core/keys.ts";
import { encodeBatch } from "./codec.ts";
import { verifyAck } from "./messages.ts";
import { batchOf, StreamWriter } from "./stream-writer.ts";
import { ackTopic, upTopic } from "./topics.ts";

export interface FleetOptions {
  url: string;
  devices: number;
  /** Readings per second per device. */
  rate: number;
  durationMs: number;
  prefix?: string;
  /** Each simulated gateway sends one batch this often (its linger); default 1 s, or 1/rate when slower. */
  batchEveryMs?: number;
  /** When given, acks are verified against it (a forged ack is counted, not believed). */
  cloudKey?: KeyObject;
  /** Called once per gateway before it sends: register its key (or print it). */
  register?: (device: string, publicKeyB64: string) => Promise<void>;
  /** Acks in the first `warmupMs` of sending are left out of `windowBatchesPerSecond` (default 5 s, at most half the run). */
  warmupMs?: number;
  /** Called when the steady window opens (after the warm-up) and when sending stops (e.g. to sample CPU). */
  onWindow?: (phase: "open" | "close") => void;
  /** How long to wait for the last acks after sending stops (default 15 s). */
  drainMs?: number;
}

export interface FleetReport {
  devices: number;
  seconds: number;
  recordsSent: number;
  recordsAcked: number;
  batchesSent: number;
  batchesAcked: number;
  rejected: number;
  badAcks: number;
  ackedPerSecond: number;
  /**
   * Batches acked per second while sending, after `warmupMs` (the steady rate: the drain after the
   * last send is left out, so a saturated cloud's rate is not diluted by the tail).
   */
  windowBatchesPerSecond: number;
  /**
   * Send → signed commit ack, over every batch sent: a batch still unacked at the end counts at its
   * age then (a lower bound of its lag), so a cloud that falls behind cannot look fast by leaving its
   * slowest batches out.
   */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /**
   * Send → commit, by the signed ack's `at` (the cloud's clock: meaningful when loadgen and cloud
   * share a clock, as in the bench), over acked batches: with the lag above it tells a cloud that
   * commits late (a queue before the commit) from acks that arrive late (the way back).
   */
  commitP50Ms: number | null;
  commitP99Ms: number | null;
}

/**
 * How often each simulated gateway sends, and how many readings a batch: `rate` readings/s on
 * average. Below one reading per batch interval it sends one reading per batch, less often
 * (0.2/s: one every 5 s), instead of rounding the rate up. Above it, a whole number of readings per
 * batch, the interval stretched so the average stays `rate` (1.5/s: 2 every 1,333 ms, not 2 a second).
 */
export function fleetPacing(rate: number, batchEveryMs?: number): { every: number; perBatch: number } {
  // From the unrounded interval: 0.15/s is one reading every 6,666.7 ms, and rounding to 6,667
  // first made that 1.00005 readings, so 2 every 13.3 s (half the batches asked for).
  const raw = Math.max(batchEveryMs ?? 1000, 1000 / rate);
  const perBatch = Math.max(1, Math.ceil((rate * raw) / 1000 - 1e-9));
  return { every: Math.max(1, Math.round(Math.max(raw, (perBatch * 1000) / rate))), perBatch };
}

/**
 * Many gateways in one process, lighter than many Agents: each has its own Ed25519 key, MQTT
 * connection and hash-chained stream (StreamWriter), but no outbox: it measures the cloud and broker,
 * not the SD card. Start times are spread with full jitter so the fleet does not tick in lockstep.
 */
export async function runFleet(o: FleetOptions): Promise<FleetReport> {
  const { every, perBatch } = fleetPacing(o.rate, o.batchEveryMs);
  const report: FleetReport = {
    devices: o.devices,
    seconds: 0,
    recordsSent: 0,
    recordsAcked: 0,
    batchesSent: 0,
    batchesAcked: 0,
    rejected: 0,
    badAcks: 0,
    ackedPerSecond: 0,
    windowBatchesPerSecond: 0,
    latencyP50Ms: null,
    latencyP99Ms: null,
    commitP50Ms: null,
    commitP99Ms: null,
  };
  const latencies: number[] = [];
  const toCommit: number[] = [];
  let inWindow = 0;
  let windowFrom = Number.POSITIVE_INFINITY;
  let windowTo = Number.POSITIVE_INFINITY;
  const outstanding = new Map<string, { at: number; n: number }>();
  const gateways: Array<{ id: string; client: MqttClient; w: StreamWriter }> = [];
  const prefix = o.prefix ?? "load";
  for (let i = 0; i < o.devices; i += 100) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(100, o.devices - i) }, async (_, k) => {
        const id = `${prefix}-${String(i + k).padStart(5, "0")}`;
        const key = generateKeyPair();
        await o.register?.(id, key.publicKeyB64);
        const client = await mqtt.connectAsync(o.url, {
          clientId: `loadgen-${id}`,
          clean: true,
          reconnectPeriod: 1000,
        });
        client.on("message", (_t, payload) => {
          const v = o.cloudKey
            ? verifyAck(o.cloudKey, payload, id)
            : { ok: true as const, msg: JSON.parse(payload.toString()) };
          if (!v.ok) return void report.badAcks++;
          const sent = outstanding.get(v.msg.batch);
          if (!sent) return;
          outstanding.delete(v.msg.batch);
          if (v.msg.status !== "committed") return void report.rejected++;
          report.batchesAcked++;
          report.recordsAcked += sent.n;
          const now = Date.now();
          latencies.push(now - sent.at);
          if (typeof v.msg.at === "number") toCommit.push(v.msg.at - sent.at);
          if (now >= windowFrom && now <= windowTo) inWindow++;
        });
        await client.subscribeAsync(ackTopic(id), { qos: 1 });
        return { id, client, w: new StreamWriter(id, `${prefix}.0`, key) };
      }),
    );
    gateways.push(...chunk);
  }
  const start = Date.now();
  const warmup = Math.min(o.warmupMs ?? 5000, o.durationMs / 2);
  windowFrom = start + warmup;
  windowTo = start + o.durationMs;
  const opening = setTimeout(() => o.onWindow?.("open"), warmup);
  let value = 0;
  const timers = gateways.map((g) => {
    const send = () => {
      const now = Date.now();
      const seg = g.w.next(
        Array.from({ length: perBatch }, (_, j) => ({
          t: { wall: now + j, boot: "loadgen", mono: now + j, synced: true },
          kind: "reading",
          body: { value: value++ % 1000, unit: "degC" },
        })),
      );
      const b = batchOf(g.id, [seg], now);
      outstanding.set(b.id, { at: now, n: perBatch });
      report.batchesSent++;
      report.recordsSent += perBatch;
      g.client.publish(upTopic(g.id), encodeBatch(b), { qos: 1 });
    };
    let interval: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      send();
      interval = setInterval(send, every);
    }, Math.random() * every);
    return () => {
      clearTimeout(first);
      clearInterval(interval);
    };
  });
  await new Promise((r) => setTimeout(r, o.durationMs));
  for (const stop of timers) stop();
  clearTimeout(opening);
  o.onWindow?.("close");
  const stopped = Date.now();
  report.windowBatchesPerSecond =
    inWindow / Math.max(0.001, (Math.min(stopped, windowTo) - windowFrom) / 1000);
  const until = stopped + (o.drainMs ?? 15_000);
  while (outstanding.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  report.seconds = (Date.now() - start) / 1000;
  const end = Date.now();
  for (const s of outstanding.values()) latencies.push(end - s.at);
  await Promise.all(gateways.map((g) => g.client.endAsync()));
  latencies.sort((a, b) => a - b);
  report.ackedPerSecond = Math.round(report.recordsAcked / report.seconds);
  report.latencyP50Ms = latencies.length ? latencies[Math.floor(latencies.length * 0.5)]! : null;
  report.latencyP99Ms = latencies.length ? latencies[Math.floor(latencies.length * 0.99)]! : null;
  toCommit.sort((a, b) => a - b);
  report.commitP50Ms = toCommit.length ? toCommit[Math.floor(toCommit.length * 0.5)]! : null;
  report.commitP99Ms = toCommit.length ? toCommit[Math.floor(toCommit.length * 0.99)]! : null;
  return report;
}
