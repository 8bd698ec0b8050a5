import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agent } from "../../agent/agent.ts";
import { cloudConfigSchema } from "../../cloud/config.ts";
import { type CloudHandle, startCloud } from "../../cloud/service.ts";
import { allAcked, emitReadings, startLoadAgent } from "../helpers/load-agents.ts";
import {
  freshDb,
  MOSQUITTO_URL,
  mosquittoAvailable,
  PG_URL,
  postgresAvailable,
  tmpDir,
} from "../helpers/services.ts";
import { TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

const DEVICES = 4;
const PER_DEVICE = 6000;

/**
 * Scale-out on existing engines: two cloud instances share the ingest through an MQTT 5 shared
 * subscription ($share/<group>/barnlink/v1/+/up, MQTT 5.0 §4.8.2) on one Mosquitto, over one
 * PostgreSQL. Batches of one stream land on both instances; per-stream row locks keep the result
 * identical to a single instance: every record once, chains intact, committed seq = last seq.
 */
const ready = (await mosquittoAvailable()) && (await postgresAvailable());

describe.runIf(ready)("two cloud instances, shared subscription, one PostgreSQL", () => {
  let fresh: Awaited<ReturnType<typeof freshDb>>;
  const clouds: CloudHandle[] = [];
  const agents: Agent[] = [];
  const dir = tmpDir();
  beforeAll(async () => {
    fresh = await freshDb("postgres");
    const group = `g${randomBytes(4).toString("hex")}`;
    for (const n of [1, 2]) {
      const cfg = cloudConfigSchema.parse({
        instance: `${group}-${n}`,
        database: { url: PG_URL },
        mqtt: { url: MOSQUITTO_URL, sharedGroup: group },
        http: { port: 0 },
        keyFile: join(dir, "cloud.key"),
        tokens: [{ name: "admin", role: "admin", token: TEST_TOKEN }],
      });
      clouds.push(await startCloud(cfg, { schema: fresh.schema }));
    }
  });
  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => {});
    for (const c of clouds) await c.stop();
    await fresh?.drop();
  });

  it("commits every record of every device exactly once, whichever instance takes a batch", async () => {
    // Small batches and a wide window: many batches of one stream in flight on both instances.
    for (let d = 0; d < DEVICES; d++)
      agents.push(
        await startLoadAgent({
          dir,
          device: uniqueDevice("scale"),
          db: clouds[0]!.ctx.db,
          publicKey: clouds[0]!.publicKey,
          mqtt: { url: MOSQUITTO_URL },
          linger: 10,
          batchMaxRecords: 200,
          window: 16,
          reconnectBase: 100,
        }),
      );
    for (let i = 0; i < PER_DEVICE; i += 500) emitReadings(agents, 500, i);
    for (const a of agents)
      a.emit([
        { stream: "census", kind: "census", body: { barn: "a", from: 0, to: 1, count: 9, method: "manual" } },
      ]);
    await waitFor(() => allAcked(agents), "all acked");
    for (const a of agents) {
      const r = await fetch(`${clouds[1]!.url}/api/v1/devices/${a.config.device}`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      const d = (await r.json()) as { streams: Record<string, Record<string, unknown>> };
      for (const s of a.outbox.status())
        expect(d.streams[s.stream], s.stream).toMatchObject({
          committedSeq: s.lastSeq,
          count: s.lastSeq,
          chain: "ok",
          openGaps: [],
        });
    }
    const batches = clouds.map((c) => c.ingest.counters.batches);
    expect(
      batches.every((b) => b > 0),
      `batches per instance ${batches}`,
    ).toBe(true);
    expect(clouds.reduce((n, c) => n + c.ingest.counters.records, 0)).toBe(DEVICES * (PER_DEVICE + 1));
    // Rejections of these devices only: on the shared Mosquitto the instances also see other tests' traffic.
    const rejected = await clouds[0]!.ctx.db.kysely
      .selectFrom("rejects")
      .select(["device", "code", "reason"])
      .where(
        "device",
        "in",
        agents.map((a) => a.config.device),
      )
      .execute();
    expect(rejected).toEqual([]);
  }, 120_000);
});
