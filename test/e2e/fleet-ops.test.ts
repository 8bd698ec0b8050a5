import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { sha256 } from "../../agent/fleet/config-store.ts";
import type { AgentHost } from "../../agent/fleet/host.ts";
import { fleetModule } from "../../cloud/fleet/routes.ts";
import { generateKeyPair } from "../../core/keys.ts";
import { type Command, signMessage } from "../../sync/messages.ts";
import { cmdTopic } from "../../sync/topics.ts";
import { cliInProcess } from "../helpers/cli.ts";
import { startGateway } from "../helpers/gateway.ts";
import { adminApi, type Stack, startStack, TEST_TOKEN, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

type Fleet = {
  config: {
    running: { sha256: string } | null;
    requests: Array<{
      id: string;
      state: string;
      errors?: Array<{ path: string }>;
      reason?: string;
      config: string;
    }>;
  };
  status: {
    requests: Array<{ id: string; state: string }>;
    latest: null | {
      id: string;
      status: {
        link: { connected: boolean; broker: string };
        outbox: { pendingRecords: number; streams: unknown[] };
        versions: { node: string; barnlink: string };
        config: { source: string; sha256: string };
        clock: { synced: boolean };
        sources: unknown[];
      };
      log: string[];
      lastErrors: string[];
    };
  };
};

/**
 * Fleet operations end to end, with a real broker (aedes with logins and ACLs) and a cloud on SQLite:
 * the gateway runs as `barnlink agent` runs it (agent/fleet/gateway-host.ts), the cloud's API sends
 * signed `config.apply` and `status.report` commands, and the answers come back as signed records.
 */
describe("fleet operations: remote config with rollback, remote status and log", () => {
  let stack: Stack;
  let host: AgentHost;
  const device = uniqueDevice("fleet");
  let base: Record<string, unknown>;
  let password: string;

  const api = (path: string, body?: unknown) => adminApi(stack)(path, body);
  const fleet = async () => (await api(`/api/v1/devices/${device}/fleet`)).json as unknown as Fleet;
  const outcome = (id: string, states: string[]) =>
    waitFor(
      async () => {
        const f = await fleet();
        const r = f.config.requests.find((x) => x.id === id);
        return r && states.includes(r.state) ? r : undefined;
      },
      `config request ${id} in ${states.join("/")}`,
      { timeoutMs: 90_000 },
    );
  const apply = async (cfg: unknown, deadline = "3s") => {
    const text = typeof cfg === "string" ? cfg : stringify(cfg);
    const r = await api(`/api/v1/devices/${device}/config`, { config: text, deadline });
    expect(r.status).toBe(202);
    return { id: r.json.command as string, sha: sha256(text) };
  };

  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite", modules: [fleetModule()] });
    ({ host, base, password } = await startGateway(stack, device));
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
    await stack?.stop();
  });

  it("applies a valid config: the gateway restarts on it, proves healthy, keeps it and reports applied", async () => {
    const next = { ...base, sync: { ...(base.sync as object), linger: 25 } };
    const { id, sha } = await apply(next);
    const r = await outcome(id, ["applied", "rolled-back", "rejected"]);
    expect(r.state).toBe("applied");
    expect(host.agent.config.sync.linger).toBe(25);
    expect((await fleet()).config.running?.sha256).toBe(sha);
    expect(existsSync(join(base.dataDir as string, "config", "active.yaml"))).toBe(true);
    // The device page never shows the broker password that travelled in the config.
    expect(r.config).not.toContain(password);
    expect(r.config).toMatch(/password: \[redacted\]/);
  }, 120_000);

  it("rejects an invalid config with every problem listed; the running config stays", async () => {
    const running = host.agent;
    const { id } = await apply({ ...base, device: "someone-else", sync: { window: 0 }, colour: "blue" });
    const r = await outcome(id, ["rejected", "applied", "rolled-back"]);
    expect(r.state).toBe("rejected");
    expect(r.errors!.map((e) => e.path).sort()).toEqual(["colour", "sync.window"]);
    // Schema first; the pinned keys (device, dataDir, cloud key) are checked on a config that parses.
    const { id: id2 } = await apply({ ...base, device: "someone-else" });
    const r2 = await outcome(id2, ["rejected", "applied", "rolled-back"]);
    expect(r2.errors!.map((e) => e.path)).toEqual(["device"]);
    expect(host.agent).toBe(running);
    expect(host.agent.config.sync.linger).toBe(25);
  }, 120_000);

  it("rolls back a config whose broker is unreachable, and one whose serial port does not exist", async () => {
    const { id } = await apply({
      ...base,
      cloud: { ...(base.cloud as object), mqtt: { url: "mqtt://127.0.0.1:9" } },
    });
    const r = await outcome(id, ["rolled-back", "applied"]);
    expect(r.state).toBe("rolled-back");
    expect(r.reason).toMatch(/no broker connection within 3 s \(mqtt:\/\/127\.0\.0\.1:9\)/);
    expect(host.agent.config.cloud.mqtt.url).toBe(stack.brokerUrl);
    expect(host.agent.config.sync.linger).toBe(25);

    const port = `/dev/barnlink-missing-${randomBytes(3).toString("hex")}`;
    const modbus = {
      driver: "modbus",
      name: "rs485",
      transport: "rtu",
      port,
      timeout: "200ms",
      retries: 0,
      offlineAfter: 1,
      devices: [{ name: "climate", unit: 1, interval: "200ms", preset: "th-transmitter" }],
    };
    const { id: id2 } = await apply({ ...base, sources: [modbus] }, "30s");
    const r2 = await outcome(id2, ["rolled-back", "applied"]);
    expect(r2.state).toBe("rolled-back");
    expect(r2.reason).toMatch(/modbus\.device_offline/);
    expect(host.agent.config.sources).toEqual([]);
    await waitFor(() => host.agent.link.stats.subscribed, "subscribed again after the rollback", {
      timeoutMs: 30_000,
    });
  }, 180_000);

  it("answers a status request with its status and redacted log lines, as a signed record", async () => {
    host.agent.log.info({ password, url: `mqtt://${device}:${password}@broker` }, `note with ${password}`);
    const r = await api(`/api/v1/devices/${device}/status-request`, { lines: 100 });
    expect(r.status).toBe(202);
    const id = r.json.command as string;
    const latest = await waitFor(
      async () => {
        const f = await fleet();
        return f.status.latest?.id === id ? f.status.latest : undefined;
      },
      "status report stored",
      { timeoutMs: 60_000 },
    );
    expect(latest.status.link.connected).toBe(true);
    expect(latest.status.versions.node).toBe(process.version);
    expect(latest.status.config.source).toBe("remote");
    expect(latest.status.outbox.streams.length).toBeGreaterThan(0);
    expect(latest.log.length).toBeGreaterThan(3);
    expect(latest.log.length).toBeLessThanOrEqual(100);
    expect(latest.log.join("\n")).toMatch(/rolling back to the previous config/);
    expect(latest.lastErrors.join("\n")).toMatch(/rolling back/);
    expect(JSON.stringify(latest)).not.toContain(password);
    expect((await fleet()).status.requests.find((q) => q.id === id)?.state).toBe("answered");
    // The answer is evidence of the device: chained and signed like any record.
    const recs = await api(`/api/v1/devices/${device}/records?stream=status`);
    expect((recs.json.records as unknown[]).length).toBe(1);
  }, 120_000);

  it("ignores a replayed config.apply and a forged one", async () => {
    const f0 = await fleet();
    const applied = f0.config.requests.find((x) => x.state === "applied")!;
    const row = await stack.cloud.ctx.db.kysely
      .selectFrom("device_commands")
      .select("message")
      .where("id", "=", applied.id)
      .executeTakeFirstOrThrow();
    const at = Date.now();
    const forged = signMessage<Command>(generateKeyPair().privateKey, {
      v: 1,
      type: "cmd",
      device,
      id: randomBytes(12).toString("hex"),
      name: "config.apply",
      args: { config: stringify({ ...base, sync: { linger: 99 } }) },
      at,
      expires: at + 60_000,
    });
    // A real command after them, from the same client: once it is answered the two before it were seen.
    const probe = signMessage<Command>(stack.cloud.ctx.key.privateKey, {
      v: 1,
      type: "cmd",
      device,
      id: randomBytes(12).toString("hex"),
      name: "status.report",
      args: { lines: 0 },
      at,
      expires: at + 60_000,
    });
    const forgedBefore = host.agent.link.stats.forgedCommands;
    const running = host.agent;
    const c = await mqtt.connectAsync(stack.mqttUrl);
    for (const m of [row.message, JSON.stringify(forged), JSON.stringify(probe)])
      await c.publishAsync(cmdTopic(device), m, { qos: 1 });
    await c.endAsync();
    await waitFor(
      async () => {
        const recs = await api(`/api/v1/devices/${device}/records?stream=status`);
        return (recs.json.records as Array<{ body: { detail: { id: string } } }>).some(
          (x) => x.body.detail.id === probe.id,
        );
      },
      "the probe answered",
      { timeoutMs: 60_000 },
    );
    expect(host.agent).toBe(running);
    expect(host.agent.link.stats.forgedCommands).toBe(forgedBefore + 1);
    const configRecords = (await api(`/api/v1/devices/${device}/records?stream=config`)).json
      .records as Array<{
      body: { detail: { id: string } };
    }>;
    expect(configRecords.filter((x) => x.body.detail.id === applied.id)).toHaveLength(1);
    expect(configRecords.some((x) => x.body.detail.id === forged.id)).toBe(false);
    expect(host.agent.config.sync.linger).toBe(25);
  }, 120_000);

  it("the CLI sends both and waits for the gateway's answer; its argument errors are one line, exit 2", async () => {
    const conn = ["--url", stack.cloud.url, "--token", TEST_TOKEN, "--device", device];
    const file = join(stack.dir, "next.yaml");
    writeFileSync(file, stringify({ ...base, sync: { ...(base.sync as object), linger: 30 } }));
    const ok = await cliInProcess([
      "fleet",
      "config-apply",
      ...conn,
      "--file",
      file,
      "--deadline",
      "2s",
      "--wait",
    ]);
    expect({ code: ok.code, out: ok.stdout }).toMatchObject({
      code: 0,
      out: expect.stringMatching(/applied/),
    });
    expect(host.agent.config.sync.linger).toBe(30);
    writeFileSync(file, stringify({ ...base, sync: { window: 0 } }));
    const bad = await cliInProcess(["fleet", "config-apply", ...conn, "--file", file, "--wait"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/rejected\n {2}sync\.window: /);
    const st = await cliInProcess(["fleet", "status", ...conn, "--lines", "5", "--wait"]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/link {6}connected/);
    const usage = await cliInProcess(["fleet", "status", ...conn, "--lines", "many"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim().split("\n")[0]).toMatch(/--lines must be a whole number/);
  }, 180_000);
});
