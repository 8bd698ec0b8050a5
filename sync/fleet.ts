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
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

/**
 * How often each simulated gateway sends, and how many readings a batch: `rate` readings/s on
 * average. Below one reading per batch interval it sends one reading per batch, less often
 * (0.2/s: one every 5 s), instead of rounding the rate up.
 */
export function fleetPacing(rate: number, batchEveryMs?: number): { every: number; perBatch: number } {
  const every = Math.max(1, Math.round(Math.max(batchEveryMs ?? 1000, 1000 / rate)));
  return { every, perBatch: Math.max(1, Math.round((rate * every) / 1000)) };
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
    latencyP50Ms: null,
    latencyP99Ms: null,
  };
  const latencies: number[] = [];
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
          latencies.push(Date.now() - sent.at);
        });
        await client.subscribeAsync(ackTopic(id), { qos: 1 });
        return { id, client, w: new StreamWriter(id, `${prefix}.0`, key) };
      }),
    );
    gateways.push(...chunk);
  }
  const start = Date.now();
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
  const until = Date.now() + 15_000;
  while (outstanding.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  report.seconds = (Date.now() - start) / 1000;
  await Promise.all(gateways.map((g) => g.client.endAsync()));
  latencies.sort((a, b) => a - b);
  report.ackedPerSecond = Math.round(report.recordsAcked / report.seconds);
  report.latencyP50Ms = latencies.length ? latencies[Math.floor(latencies.length * 0.5)]! : null;
  report.latencyP99Ms = latencies.length ? latencies[Math.floor(latencies.length * 0.99)]! : null;
  return report;
}
