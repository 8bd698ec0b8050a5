import { describe, expect, it } from "vitest";
import type { Clock } from "../core/clock.ts";
import { generateKeyPair } from "../core/keys.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import { decodeBatch } from "./codec.ts";
import { FakeMqttClient } from "./fake-mqtt-client.ts";
import { Link, type LinkOptions } from "./link.ts";
import { type Ack, type Command, signMessage } from "./messages.ts";
import { MemoryOutbox } from "./outbox/memory-outbox.ts";
import { ackTopic, cmdTopic, stateTopic, upTopic } from "./topics.ts";

/** Link unit tests: no broker, a FakeMqttClient; the real brokers are in test/e2e. */
const device = "barn-1";
const deviceKey = generateKeyPair();
const cloud = generateKeyPair();

function fakeClock() {
  let mono = 1_000;
  const clock: Clock & { advance(ms: number): void } = {
    now: () => ({ wall: 1_700_000_000_000 + mono, mono, boot: "b", synced: true }),
    mono: () => mono,
    advance: (ms) => {
      mono += ms;
    },
  };
  return clock;
}

function setup(patch: Partial<LinkOptions> = {}) {
  const outbox = new MemoryOutbox(device);
  const client = new FakeMqttClient();
  const clock = fakeClock();
  const link = new Link({
    url: "mqtt://fake",
    device,
    outbox,
    deviceKey,
    cloudKey: cloud.publicKey,
    clock,
    client: () => client,
    batch: { lingerMs: 0, maxRecords: 10 },
    ...patch,
  });
  link.start();
  return { outbox, client, clock, link };
}

const reading = (i: number) => ({
  stream: "env.t",
  kind: "reading",
  body: { value: i, unit: "degC" },
  t: { wall: 1e12 + i, boot: "b", mono: i, synced: true },
});

const batches = (c: FakeMqttClient) => c.frames(upTopic(device)).map((f) => decodeBatch(f));

function ack(
  batch: string,
  status: "committed" | "rejected",
  segments: Ack["segments"],
  extra: Partial<Ack> = {},
) {
  return Buffer.from(
    JSON.stringify(
      signMessage<Ack>(cloud.privateKey, {
        v: 1,
        type: "ack",
        device,
        batch,
        status,
        segments,
        at: 1,
        ...extra,
      }),
    ),
  );
}

function commitAll(client: FakeMqttClient, from = 0) {
  for (const b of batches(client).slice(from)) {
    const segments = b.segments.map((s) => {
      if (s.type !== "records") throw new Error("records expected");
      return {
        stream: s.stream,
        from: s.first,
        to: s.first + s.records.length - 1,
        hash: s.head.hash.toString("hex"),
      };
    });
    client.deliver(ackTopic(device), ack(b.id, "committed", segments));
  }
}

describe("Link with a fake client", () => {
  it("on connect: subscribes to acks and commands, says online (retained), sends what is pending", async () => {
    const { outbox, client, link } = setup();
    outbox.append([reading(1), reading(2)]);
    client.goOnline();
    expect(client.subscribed).toEqual([ackTopic(device), cmdTopic(device)]);
    const state = client.published.find((p) => p.topic === stateTopic(device))!;
    expect(state.retain).toBe(true);
    expect(JSON.parse(state.payload.toString()).state).toBe("online");
    await waitFor(() => batches(client).length === 1, "a batch");
    const b = batches(client)[0]!;
    expect(b.segments).toHaveLength(1);
    expect(b.segments[0]).toMatchObject({ type: "records", stream: "env.t", first: 1 });
    expect(link.stats).toMatchObject({ connected: true, batchesSent: 1, inFlight: 1 });
    await link.stop();
    expect(client.ended).toBe(true);
  });

  it("deletes records only on a signed commit ack naming the link it holds; forged acks are counted and ignored", async () => {
    const { outbox, client, link } = setup();
    outbox.append([reading(1), reading(2)]);
    client.goOnline();
    await waitFor(() => batches(client).length === 1, "a batch");
    const b = batches(client)[0]!;
    const forger = generateKeyPair();
    const forged = JSON.stringify(
      signMessage<Ack>(forger.privateKey, {
        v: 1,
        type: "ack",
        device,
        batch: b.id,
        status: "committed",
        segments: [],
        at: 1,
      }),
    );
    client.deliver(ackTopic(device), Buffer.from(forged));
    expect(link.stats.forgedAcks).toBe(1);
    expect(outbox.status()[0]!.pending).toBe(2);
    commitAll(client);
    expect(outbox.status()[0]!.pending).toBe(0);
    expect(link.stats).toMatchObject({ batchesAcked: 1, recordsAcked: 2, inFlight: 0 });
    await link.stop();
  });

  it("keeps at most `window` batches in flight; an ack makes room for the next", async () => {
    const { outbox, client, link } = setup({ window: 2 });
    outbox.append(Array.from({ length: 50 }, (_, i) => reading(i + 1)));
    client.goOnline();
    await waitFor(() => batches(client).length >= 2, "two batches");
    // One pump fills the window in a single synchronous loop: without the window all 5 would be out.
    expect(batches(client)).toHaveLength(2);
    commitAll(client);
    await waitFor(() => batches(client).length === 4, "two more batches");
    expect(link.stats.inFlight).toBe(2);
    await link.stop();
  });

  it("resends the same batch when no ack comes in time", async () => {
    const { outbox, client, clock, link } = setup({ ackTimeoutMs: 1000 });
    outbox.append([reading(1)]);
    client.goOnline();
    await waitFor(() => batches(client).length === 1, "a batch");
    clock.advance(1000);
    await waitFor(() => link.stats.batchesResent >= 1, "a resend", { intervalMs: 50 });
    const first = batches(client)[0]!.id;
    expect(batches(client).every((b) => b.id === first)).toBe(true);
    await link.stop();
  });

  it("on close: reconnects after the jittered backoff; reconnectNow skips the wait", async () => {
    const { client, link } = setup({ reconnect: { baseMs: 10, capMs: 20 } });
    client.goOnline();
    client.goOffline();
    expect(link.stats.connected).toBe(false);
    await waitFor(() => client.reconnects === 1, "a reconnect");
    client.goOffline();
    link.reconnectNow();
    expect(client.reconnects).toBe(2);
    await link.stop();
  });

  it("a rejected batch is rewound and sent again (never dropped)", async () => {
    const { outbox, client, link } = setup({ ackTimeoutMs: 1000 });
    outbox.append([reading(1)]);
    client.goOnline();
    await waitFor(() => batches(client).length === 1, "a batch");
    const b = batches(client)[0]!;
    client.deliver(ackTopic(device), ack(b.id, "rejected", [], { code: "BL_INTERNAL", reason: "busy" }));
    expect(link.stats.batchesRejected).toBe(1);
    await waitFor(() => batches(client).length === 2, "the records sent again");
    expect(batches(client)[1]!.segments[0]).toMatchObject({ stream: "env.t", first: 1 });
    expect(outbox.status()[0]!.pending).toBe(1);
    await link.stop();
  });

  it("runs a verified, unexpired command once; forged and replayed ones are ignored", async () => {
    const seen: string[] = [];
    const ids = new Set<string>();
    const { client, link } = setup({
      onCommand: (c) => {
        seen.push(c.id);
      },
      firstSight: (id) => !ids.has(id) && ids.add(id) !== undefined,
    });
    client.goOnline();
    const cmd = (key = cloud.privateKey, id = "cmd-00001", expires = 1e15) =>
      Buffer.from(
        JSON.stringify(
          signMessage<Command>(key, {
            v: 1,
            type: "cmd",
            device,
            id,
            name: "sync.now",
            args: {},
            at: 1,
            expires,
          }),
        ),
      );
    client.deliver(cmdTopic(device), cmd());
    client.deliver(cmdTopic(device), cmd());
    client.deliver(cmdTopic(device), cmd(generateKeyPair().privateKey, "cmd-00002"));
    client.deliver(cmdTopic(device), cmd(cloud.privateKey, "cmd-00003", 5));
    await waitFor(() => seen.length === 1, "the command");
    expect(seen).toEqual(["cmd-00001"]);
    expect(link.stats.forgedCommands).toBe(1);
    await link.stop();
  });

  it("over its daily budget sends only alarms and evidence", async () => {
    const { outbox, client, link } = setup({ dailyBudget: 1 });
    outbox.append([reading(1)]);
    client.goOnline();
    await waitFor(() => batches(client).length === 1, "the first batch (budget not yet spent)");
    commitAll(client);
    outbox.append([reading(2)]);
    outbox.append([
      {
        stream: "census",
        kind: "census",
        body: { barn: "b", from: 0, to: 1, count: 3, method: "manual" },
        t: reading(3).t,
      },
    ]);
    await waitFor(() => batches(client).length === 2, "the evidence");
    expect(batches(client)[1]!.segments.map((s) => s.stream)).toEqual(["census"]);
    expect(link.stats.budgetUsed).toBeGreaterThan(1);
    await link.stop();
  });
});
