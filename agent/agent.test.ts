import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../core/keys.ts";
import type { LinkOptions, LinkStats } from "../sync/link.ts";
import { MemoryOutbox } from "../sync/outbox/memory-outbox.ts";
import { SqliteOutbox } from "../sync/outbox/sqlite-outbox.ts";
import { tmpDir } from "../test/helpers/services.ts";
import { waitFor } from "../test/helpers/wait-for.ts";
import { Agent, type AgentLink, type AgentParts, START_STEPS } from "./agent.ts";
import { agentConfigSchema } from "./config.ts";

/** A link that records what the agent asks of it (no broker): the agent's unit tests. */
class FakeLink implements AgentLink {
  readonly stats = { connected: false, recordsAcked: 0 } as LinkStats;
  kicks = 0;
  reconnects = 0;
  started = false;
  stopped = false;
  constructor(readonly opts: LinkOptions) {}
  start() {
    this.started = true;
  }
  async stop() {
    this.stopped = true;
  }
  kick() {
    this.kicks++;
  }
  reconnectNow() {
    this.reconnects++;
  }
  restrictions: Array<{ maxPriority: number; bytes: number } | undefined> = [];
  restrict(r?: { maxPriority: number; bytes: number }) {
    this.restrictions.push(r);
  }
  get restrictedBytes(): number | undefined {
    return undefined;
  }
  async drained() {
    return true;
  }
}

const cloudKey = generateKeyPair();
function config(patch: Record<string, unknown> = {}) {
  return agentConfigSchema().parse({
    device: "barn-1",
    dataDir: tmpDir(),
    cloud: { mqtt: { url: "mqtt://127.0.0.1:1" }, publicKey: cloudKey.publicKeyB64 },
    ...patch,
  });
}

function withFakes(outbox = () => new MemoryOutbox("barn-1")) {
  const links: FakeLink[] = [];
  const parts: AgentParts = {
    openOutbox: outbox,
    createLink: (o) => {
      const l = new FakeLink(o);
      links.push(l);
      return l;
    },
  };
  return { parts, links };
}

const reading = (v: number) => ({ stream: "env.t", kind: "reading", body: { value: v, unit: "degC" } });

describe("Agent start-up steps", () => {
  it("runs key, outbox, recovery, link, sources, seal in that order; each step alone", async () => {
    const { parts, links } = withFakes();
    const agent = new Agent(config(), { parts });
    expect(START_STEPS).toEqual(["key", "outbox", "recovery", "link", "sources", "seal"]);
    await agent.runStep("key");
    expect(agent.key.created).toBe(true);
    await agent.runStep("outbox");
    expect(agent.outbox).toBeInstanceOf(MemoryOutbox);
    expect(links).toHaveLength(0);
    await agent.runStep("link");
    expect(links[0]!.started).toBe(true);
    // The link is given the config's sync settings and the outbox.
    expect(links[0]!.opts).toMatchObject({
      device: "barn-1",
      url: "mqtt://127.0.0.1:1",
      outbox: agent.outbox,
    });
    await agent.stop();
    expect(links[0]!.stopped).toBe(true);
    expect((agent.outbox as MemoryOutbox).closed).toBe(true);
  });

  it("start() records the steps done; stop() after a partial start stops what started", async () => {
    const { parts } = withFakes();
    const agent = new Agent(config(), { parts });
    await agent.start();
    expect(agent.started).toEqual([...START_STEPS]);
    await agent.stop();
    const half = new Agent(config(), {
      parts: {
        ...parts,
        createLink: () => {
          throw new Error("no link");
        },
      },
    });
    await expect(half.start()).rejects.toThrow("no link");
    expect(half.started).toEqual(["key", "outbox", "recovery"]);
    await half.stop();
  });

  it("defaults the reconnect cap to a few seconds", async () => {
    const { parts, links } = withFakes();
    const agent = new Agent(config(), { parts });
    await agent.start();
    expect(links[0]!.opts.reconnect).toEqual({ baseMs: 1000, capMs: 5000 });
    await agent.stop();
  });
});

describe("Agent emit", () => {
  it("stores valid readings, drops invalid ones counted, and kicks the link", async () => {
    const { parts, links } = withFakes();
    const agent = new Agent(config(), { parts });
    await agent.start();
    agent.emit([
      reading(1),
      { stream: "env.t", kind: "reading", body: { value: "x" } },
      { stream: "s", kind: "nope", body: {} },
    ]);
    expect(agent.counters).toMatchObject({ appended: 1, badReadings: 2 });
    expect(agent.outbox.status()).toMatchObject([{ stream: "env.t", lastSeq: 1 }]);
    expect(links[0]!.kicks).toBeGreaterThan(0);
    expect(agent.latest.get("env.t")?.body).toEqual({ value: 1, unit: "degC" });
    await agent.stop();
  });

  it("raises an alarm once per change of state, as a record", async () => {
    const { parts } = withFakes();
    const agent = new Agent(config(), { parts });
    await agent.start();
    const a = { code: "c", severity: "warning" as const, subject: "s", active: true, message: "m" };
    agent.raise(a);
    agent.raise(a);
    agent.raise({ ...a, active: false });
    expect(agent.counters.alarms).toBe(2);
    expect(agent.outbox.status().find((s) => s.stream === "alarms")?.lastSeq).toBe(2);
    await agent.stop();
  });

  it("seals every stream's head, signed", async () => {
    const { parts } = withFakes();
    const agent = new Agent(config(), { parts });
    await agent.start();
    agent.emit([reading(1), reading(2)]);
    agent.seal();
    const seal = agent.outbox
      .pending({ maxRecords: 100, maxBytes: 1e6 }, new Map())
      .find((p) => p.stream === "seal");
    expect(seal?.type).toBe("records");
    await agent.stop();
  });

  it("runs a verified command once and records its outcome as evidence", async () => {
    const { parts, links } = withFakes();
    const agent = new Agent(config(), { parts });
    let ran = 0;
    agent.onCommand("test.cmd", () => {
      ran++;
    });
    await agent.start();
    await links[0]!.opts.onCommand!({ id: "c1", name: "test.cmd", args: {}, expires: 0 } as never);
    expect(ran).toBe(1);
    expect(agent.outbox.status().find((s) => s.stream === "commands")?.lastSeq).toBe(1);
    expect(links[0]!.opts.firstSight!("c1")).toBe(true);
    expect(links[0]!.opts.firstSight!("c1")).toBe(false);
    await agent.stop();
  });
});

describe("Agent on a full outbox", () => {
  it("keeps the evidence of a mixed emit and counts only what was stored", async () => {
    const c = config({ outbox: { quota: 20_000, minFreeDisk: 0 } });
    const { parts } = withFakes();
    const agent = new Agent(c, { parts: { ...parts, openOutbox: undefined } });
    await agent.start();
    const census = (i: number) => ({
      stream: "census",
      kind: "census",
      body: { barn: "b1", from: 0, to: 1, count: 100 + i, method: "manual" as const },
    });
    agent.emit(Array.from({ length: 200 }, (_, i) => census(i)));
    const before = agent.counters.appended;
    agent.emit([reading(1), census(999)]);
    expect(agent.counters.appended).toBe(before + 1);
    expect(agent.latest.get("census")?.body).toMatchObject({ count: 1099 });
    expect(agent.latest.has("env.t")).toBe(false);
    await agent.stop();
  });
});

describe("Agent on a damaged outbox", () => {
  function corruptOutbox(dir: string) {
    const path = join(dir, "outbox.db");
    const ob = new SqliteOutbox(path, "barn-1");
    for (let i = 0; i < 20; i++)
      ob.append(
        Array.from({ length: 200 }, (_, k) => ({
          ...reading(i * 200 + k),
          t: { wall: 1e12 + k, boot: "b", mono: k, synced: true },
        })),
      );
    ob.db.pragma("wal_checkpoint(TRUNCATE)");
    ob.close();
    const fd = openSync(path, "r+");
    writeSync(fd, Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(statSync(path).size / 2));
    closeSync(fd);
    return path;
  }

  it("starts (no crash raising the alarm before the link exists), quarantines, and the alarm is queued", async () => {
    const c = config();
    corruptOutbox(c.dataDir);
    const { parts, links } = withFakes();
    const agent = new Agent(c, { parts: { ...parts, openOutbox: undefined } });
    await agent.start();
    expect(links).toHaveLength(1);
    expect(readdirSync(c.dataDir).some((f) => f.includes(".corrupt-"))).toBe(true);
    expect(agent.recentAlarms[0]).toMatchObject({ code: "outbox.corrupt", severity: "critical" });
    // The file had no alarms stream: it starts in the generation the loss opened (a declared restart).
    expect(agent.recentAlarms[0]!.detail).toMatchObject({ generation: 1 });
    const alarms = agent.outbox.status().find((s) => s.stream === "alarms#g1");
    expect(alarms?.pending).toBe(1);
    await agent.stop();
  });

  it("starts on a zero-length outbox: quarantined, alarm raised", async () => {
    const c = config();
    closeSync(openSync(join(c.dataDir, "outbox.db"), "w"));
    const { parts } = withFakes();
    const agent = new Agent(c, { parts: { ...parts, openOutbox: undefined } });
    await agent.start();
    const q = readdirSync(c.dataDir).find((f) => f.includes(".empty-"));
    expect(q).toBeDefined();
    expect(existsSync(join(c.dataDir, q!))).toBe(true);
    await waitFor(() => agent.recentAlarms.some((a) => a.code === "outbox.corrupt"), "the outbox alarm");
    expect(agent.recentAlarms[0]!.message).toMatch(/restart at seq 1 as generation 1 \(a declared restart\)/);
    await agent.stop();
  });
});
