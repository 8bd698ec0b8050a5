import { existsSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Issue #15, item 6: a gateway whose outbox is lost while stopped starts again, declares the
 * restart, and the cloud accepts its new records, shows the alarm, and keeps every old record.
 */
const reading = (i: number) => ({
  stream: "env.temperature",
  kind: "reading",
  body: { value: i, unit: "degC" },
});

async function api(stack: Stack, path: string) {
  const r = await fetch(`${stack.cloud.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(r.status).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: read ad hoc
  return (await r.json()) as any;
}

describe("declared restart after a lost outbox (aedes, SQLite)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite" });
  });
  afterAll(() => stack.stop());

  it("a restarted stream is accepted, the alarm reaches the cloud, old records are unchanged", async () => {
    const id = uniqueDevice("restart");
    const first = await stack.agent(id);
    first.emit(Array.from({ length: 50 }, (_, i) => reading(i)));
    await waitFor(
      async () =>
        (await api(stack, `/api/v1/devices/${id}`)).streams?.["env.temperature"]?.committedSeq === 50,
      "first life committed",
    );
    await waitFor(() => first.outbox.status().every((s) => s.pending === 0), "first life acked");
    const old = await api(stack, `/api/v1/devices/${id}/records?stream=env.temperature&limit=1000`);
    expect(old.records).toHaveLength(50);
    await first.stop();

    // The outbox is lost while the gateway is down: emptied, its WAL gone.
    const outbox = join(stack.dir, id, "outbox.db");
    truncateSync(outbox, 0);
    for (const f of [`${outbox}-wal`, `${outbox}-shm`]) if (existsSync(f)) rmSync(f);

    const second = await stack.agent(id, { register: false });
    expect(second.outbox.recovery).toMatchObject({ why: "empty", generation: 1 });
    second.emit(Array.from({ length: 30 }, (_, i) => reading(1000 + i)));
    await waitFor(
      async () =>
        (await api(stack, `/api/v1/devices/${id}`)).streams?.["env.temperature"]?.committedSeq === 80,
      "second life committed after the first",
    );
    await waitFor(() => second.outbox.status().every((s) => s.pending === 0), "second life acked");

    const all = await api(stack, `/api/v1/devices/${id}/records?stream=env.temperature&limit=1000`);
    expect(all.records).toHaveLength(80);
    expect(all.records.slice(0, 50)).toEqual(old.records);
    expect(all.records.slice(50).map((r: { body: { value: number } }) => r.body.value)).toEqual(
      Array.from({ length: 30 }, (_, i) => 1000 + i),
    );
    const d = await api(stack, `/api/v1/devices/${id}`);
    expect(d.streams["env.temperature"]).toMatchObject({
      chain: "ok",
      generation: 1,
      restarts: [{ generation: 1, seqBase: 50, oldCommittedSeq: 50, oldMaxSeq: 50, missing: 0 }],
    });

    const alarms = await api(stack, `/api/v1/devices/${id}/records?stream=alarms&limit=100`);
    const corrupt = alarms.records.find((r: { body: { code: string } }) => r.body.code === "outbox.corrupt");
    expect(corrupt?.body).toMatchObject({ severity: "critical", detail: { why: "empty", generation: 1 } });

    // The cloud recorded the restart: what it had of the closed generation.
    const restarts = await stack.cloud.ctx.db.kysely
      .selectFrom("stream_restarts")
      .selectAll()
      .where("device", "=", id)
      .execute();
    expect(restarts).toEqual([
      expect.objectContaining({ stream: "env.temperature", generation: 1, old_committed: 50, missing: 0 }),
    ]);
    // The quarantined file is kept, never deleted.
    expect(readdirSync(join(stack.dir, id)).some((f) => f.startsWith("outbox.db.empty-"))).toBe(true);
  });
});
