import { createRequire } from "node:module";
import { UniqueMessageIdProvider } from "mqtt";
import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";
import { createMqttClient } from "./mqtt-client.ts";

describe("reconnect backoff", () => {
  it("spreads 10,000 gateways uniformly over the window (full jitter), never in lockstep", () => {
    const base = 1000;
    const delays = Array.from({ length: 10_000 }, () => new Backoff(base, 120_000).next());
    const buckets = new Array(10).fill(0);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(base);
      buckets[Math.floor(d / 100)]++;
    }
    // Uniform: each tenth of the window holds ~1,000 ± 20%.
    for (const b of buckets) expect(Math.abs(b - 1000)).toBeLessThan(200);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(Math.abs(mean - base / 2)).toBeLessThan(base * 0.05);
  });

  it("doubles its ceiling per attempt up to the cap, and starts over after a connect", () => {
    const b = new Backoff(100, 1000, () => 0.999_999);
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    b.reset();
    expect(b.next()).toBe(99);
  });
});

describe("MQTT packet ids [MQTT-2.3.1-2]", () => {
  it("UniqueMessageIdProvider never hands out an id in use, however many are taken", () => {
    const p = new UniqueMessageIdProvider();
    const seen = new Set<number>();
    for (let i = 0; i < 65_535; i++) {
      const id = p.allocate();
      expect(id).not.toBeNull();
      expect(seen.has(id!)).toBe(false);
      seen.add(id!);
    }
    // Every id in flight: the provider refuses rather than wrap onto one still unacknowledged.
    expect(p.allocate()).toBeNull();
    p.deallocate(4242);
    expect(p.allocate()).toBe(4242);
    // The link never gets near this: it keeps at most `window` (≤ 256) batches in flight, and the
    // backlog waits in the SQLite outbox, not in MQTT.js's in-memory outgoing store.
  });
});

// mqtt-packet is MQTT.js's own dependency, not ours: load the copy mqtt itself loads.
const mqttPacket = createRequire(createRequire(import.meta.url).resolve("mqtt"))("mqtt-packet") as {
  writeToStream: { cacheNumbers: boolean };
};

describe("the gateway's MQTT client", () => {
  it("builds no table of 65,536 packet-id Buffers (mqtt-packet's number cache, ~6 MB of heap)", async () => {
    // Nothing listens on port 9: the client is made, never connects, and is ended.
    const c = createMqttClient("mqtt://127.0.0.1:9", "cache-probe");
    c.on("error", () => {});
    try {
      expect(c.options.writeCache).toBe(false);
      expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    } finally {
      await c.endAsync(true);
    }
  });
});
