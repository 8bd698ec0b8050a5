import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfigSchema } from "../../agent/config.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { type Batch, decodeBatch, encodeBatch } from "../../sync/codec.ts";
import type { SqliteOutbox } from "../../sync/outbox/sqlite-outbox.ts";
import { batchOf, StreamWriter } from "../../sync/stream-writer.ts";
import { upTopic } from "../../sync/topics.ts";
import { type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { waitFor } from "../helpers/wait-for.ts";

const reading = (i: number) => ({
  stream: "env.temperature",
  kind: "reading",
  body: { value: i, unit: "degC" },
});
const census = (i: number) => ({
  stream: "census",
  kind: "census",
  body: { barn: "a", from: i, to: i + 1, count: 480, method: "manual" },
});

async function device(stack: Stack, id: string) {
  const r = await fetch(`${stack.cloud.url}/api/v1/devices/${id}`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  // biome-ignore lint/suspicious/noExplicitAny: read ad hoc
  return (await r.json()) as any;
}

describe("store and forward (aedes, SQLite)", () => {
  let stack: Stack;
  let proxy: TcpProxy;
  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite" });
    const u = new URL(stack.mqttUrl);
    proxy = await startTcpProxy(u.hostname, Number(u.port));
  });
  afterAll(async () => {
    await stack.stop();
    await proxy.close();
  });

  const offlineAgent = (id: string, outbox?: { quota: number; minFreeDisk: number }) =>
    stack.agent(id, {
      cloud: { mqtt: { url: proxy.url, keepalive: 60_000 }, publicKey: stack.cloud.publicKey },
      ...(outbox ? { outbox } : {}),
    });

  it("after an outage, alarms raised offline go before the telemetry backlog", async () => {
    proxy.cut();
    const id = uniqueDevice("prio");
    const agent = await offlineAgent(id);
    for (let i = 0; i < 20; i++) agent.emit(Array.from({ length: 1000 }, (_, j) => reading(i * 1000 + j)));
    agent.raise({ code: "heat", severity: "critical", subject: "barn-a", active: true, message: "hot" });
    const spy = await mqtt.connectAsync(stack.mqttUrl, { clientId: `spy-${id}` });
    const frames: Batch[] = [];
    spy.on("message", (_t, p) => frames.push(decodeBatch(Buffer.from(p))));
    await spy.subscribeAsync(upTopic(id), { qos: 1 });
    proxy.restore();
    await waitFor(() => agent.outbox.status().every((s) => s.pending === 0), "drained");
    expect(frames[0]!.segments[0]!.stream).toBe("alarms");
    const d = await device(stack, id);
    expect(d.streams["env.temperature"]).toMatchObject({ committedSeq: 20_000, count: 20_000, chain: "ok" });
    await spy.endAsync();
  });

  it("a stream whose records were altered on disk is held and alarmed, never sent; the others reach the cloud", async () => {
    proxy.cut();
    const id = uniqueDevice("tamper");
    const agent = await stack.agent(id, {
      cloud: { mqtt: { url: proxy.url, keepalive: 60_000 }, publicKey: stack.cloud.publicKey },
      sync: {
        ...agentConfigSchema().parse({
          device: id,
          cloud: { mqtt: { url: proxy.url }, publicKey: stack.cloud.publicKey },
        }).sync,
        linger: 20,
        ackTimeout: 3000,
        reconnectBase: 100,
        reconnectCap: 1000,
        batchMaxRecords: 1000,
      },
    });
    // One append of 3,000 readings: links stored at its end and as prev every 64 seqs.
    agent.emit(Array.from({ length: 3000 }, (_, j) => reading(j)));
    agent.emit([census(1)]);
    // Someone edits a reading in the outbox file while the gateway is offline. The first batch ends
    // at 999 (census goes first): its head is recomputed from the link stored at 960 and checked up to
    // the one stored at 1024, across the edited row.
    (agent.outbox as SqliteOutbox).db
      .prepare(
        "UPDATE records SET body = ? WHERE seq = 1000 AND sid = (SELECT sid FROM streams WHERE stream = 'env.temperature')",
      )
      .run('{"unit":"degC","value":21}');
    proxy.restore();
    await waitFor(async () => (await device(stack, id)).streams?.alarms?.count >= 1, "alarm in the cloud");
    await waitFor(async () => (await device(stack, id)).streams?.census?.count === 1, "census in the cloud");
    const held = agent.outbox.status().find((s) => s.stream === "env.temperature")!;
    expect(held.damaged).toMatch(/do not match the link stored at 1024/);
    expect(held.pending).toBe(3000);
    expect(agent.recentAlarms.find((a) => a.code === "outbox.damaged")).toMatchObject({
      subject: "env.temperature",
      severity: "critical",
      active: true,
    });
    const d = await device(stack, id);
    expect(d.streams["env.temperature"]).toBeUndefined();
    expect(d.streams.alarms.chain).toBe("ok");
  });

  it("a row altered where no recomputed stretch reaches: the cloud refuses it, the agent re-checks and holds the stream", async () => {
    proxy.cut();
    const id = uniqueDevice("tamper2");
    const agent = await stack.agent(id, {
      cloud: { mqtt: { url: proxy.url, keepalive: 60_000 }, publicKey: stack.cloud.publicKey },
    });
    agent.emit(Array.from({ length: 1500 }, (_, j) => reading(j)));
    agent.emit([census(1)]);
    // Row 500 lies inside the first batch (1..1500, both ends stored links): the head the agent signs
    // is the one computed at append time, so the cloud's recomputation over the edited row fails.
    (agent.outbox as SqliteOutbox).db
      .prepare(
        "UPDATE records SET body = ? WHERE seq = 500 AND sid = (SELECT sid FROM streams WHERE stream = 'env.temperature')",
      )
      .run('{"unit":"degC","value":21}');
    proxy.restore();
    await waitFor(() => agent.outbox.status().find((s) => s.stream === "env.temperature")?.damaged, "held");
    expect(agent.link.stats.batchesRejected).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await device(stack, id)).streams?.census?.count === 1, "census in the cloud");
    await waitFor(async () => (await device(stack, id)).streams?.alarms?.count >= 1, "alarm in the cloud");
    const d = await device(stack, id);
    expect(d.streams["env.temperature"]).toBeUndefined();
    expect(agent.recentAlarms.find((a) => a.code === "outbox.damaged")?.subject).toBe("env.temperature");
  });

  it("drops a reading whose capture time is not whole milliseconds, and keeps the rest of the call", async () => {
    const agent = await stack.agent(uniqueDevice("badt"));
    agent.emit([
      { ...reading(1), t: { wall: 1_700_000_000_000.5, boot: "b", mono: 3, synced: true } },
      reading(2),
    ]);
    expect(agent.counters.badReadings).toBe(1);
    expect(agent.outbox.status().find((s) => s.stream === "env.temperature")?.lastSeq).toBe(1);
  });

  it("over quota offline: evicts oldest telemetry as recorded gaps; evidence never; the cloud reports them", async () => {
    proxy.cut();
    const id = uniqueDevice("quota");
    const agent = await offlineAgent(id, { quota: 200_000, minFreeDisk: 0 });
    for (let i = 0; i < 50; i++) {
      agent.emit(Array.from({ length: 200 }, (_, j) => reading(i * 200 + j)));
      agent.emit([census(i)]);
    }
    const local = Object.fromEntries(agent.outbox.status().map((s) => [s.stream, s]));
    expect(local["env.temperature"]!.evicted).toBeGreaterThan(0);
    expect(local.census!.evicted).toBe(0);
    proxy.restore();
    await waitFor(() => agent.outbox.status().every((s) => s.pending === 0), "drained");
    await waitFor(
      async () => (await device(stack, id)).streams["env.temperature"]?.committedSeq === 10_000,
      "gaps committed",
    );
    const d = await device(stack, id);
    const t = d.streams["env.temperature"];
    expect(t).toMatchObject({ committedSeq: 10_000, chain: "ok", openGaps: [] });
    const evicted = t.evictions.reduce((n: number, g: { count: number }) => n + g.count, 0);
    expect(evicted).toBe(local["env.temperature"]!.evicted);
    expect(t.count + evicted).toBe(10_000);
    expect(d.streams.census).toMatchObject({ committedSeq: 50, count: 50, evictions: [], chain: "ok" });
  });

  it("accepts batches out of order within a stream and corrects unsynchronised times of a boot once it syncs", async () => {
    const id = uniqueDevice("ooo");
    const key = generateKeyPair();
    await registerDevice(stack.cloud.ctx.db, id, key.publicKeyB64, null, Date.now());
    const w = new StreamWriter(id, "env.temperature", key);
    const stale = 946_684_800_000; // fake-hwclock's idea of now
    const unsynced = (i: number) => ({
      t: { wall: stale + i, boot: "boot-1", mono: 5000 + i, synced: false },
      kind: "reading",
      body: { value: i, unit: "degC" },
    });
    const first = w.next([unsynced(1), unsynced(2)]);
    const real = 1_760_000_000_000;
    const second = w.next([
      {
        t: { wall: real, boot: "boot-1", mono: 9000, synced: true },
        kind: "reading",
        body: { value: 3, unit: "degC" },
      },
    ]);
    const pub = await mqtt.connectAsync(stack.mqttUrl, { clientId: `pub-${id}` });
    await pub.publishAsync(upTopic(id), encodeBatch(batchOf(id, [second])), { qos: 1 });
    await waitFor(async () => (await device(stack, id)).streams["env.temperature"]?.maxSeq === 3, "seq 3");
    expect((await device(stack, id)).streams["env.temperature"]).toMatchObject({
      committedSeq: 0,
      openGaps: [{ from: 1, to: 2 }],
    });
    await pub.publishAsync(upTopic(id), encodeBatch(batchOf(id, [first])), { qos: 1 });
    await waitFor(
      async () => (await device(stack, id)).streams["env.temperature"]?.committedSeq === 3,
      "committed 3",
    );
    expect((await device(stack, id)).streams["env.temperature"]).toMatchObject({ chain: "ok", openGaps: [] });
    const r = await fetch(`${stack.cloud.url}/api/v1/devices/${id}/records?stream=env.temperature`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    const recs = ((await r.json()) as { records: Array<{ time: { corrected: number | null } }> }).records;
    expect(recs.map((x) => x.time.corrected)).toEqual([real - 9000 + 5001, real - 9000 + 5002, null]);
    await pub.endAsync();
  });
});
