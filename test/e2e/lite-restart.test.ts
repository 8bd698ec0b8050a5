import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { EXIT_RESTART } from "../../agent/commands/agent-run.ts";
import { LITE_FLAGS } from "../../agent/node-flags.ts";
import { registerDevice } from "../../cloud/devices.ts";
import { fleetModule } from "../../cloud/fleet/routes.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { type AgentProcess, spawnAgent } from "../helpers/agent-process.ts";
import { adminApi, type Stack, startStack, uniqueDevice } from "../helpers/stack.ts";
import { waitFor } from "../helpers/wait-for.ts";

const ROOT = join(import.meta.dirname, "../..");

/**
 * A sensors-only gateway runs in V8's lite mode (no WebAssembly), chosen by the unit's
 * `ExecStartPre=` at start. The cloud then sends it a config with a camera. Here the systemd unit
 * is emulated: node-flags writes the env file, the agent runs with those flags and with
 * BARNLINK_NODE_FLAGS set, and an exit restarts it on freshly chosen flags. Real processes, a real
 * broker (aedes) and cloud. Only systemd itself is stood in for.
 */
describe("config.apply that needs other node flags: the agent restarts into them (lite mode)", () => {
  let stack: Stack;
  const device = uniqueDevice("lite");
  let file: string;
  let base: Record<string, unknown>;
  let agent: AgentProcess | undefined;
  const log = () => join(stack.dir, `${device}.log`);

  /** What the unit does at each (re)start: flags from the config, then the agent with them. */
  const unitStart = (o: { unit?: boolean } = {}) => {
    const env = join(stack.dir, `${device}.env`);
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "bin/barnlink.js"), "agent", "node-flags", "--config", file, "--write", env],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const flags = /^BARNLINK_NODE_FLAGS=(.*)$/m.exec(readFileSync(env, "utf8"))![1]!;
    agent = spawnAgent(file, log(), {
      nodeFlags: flags.split(" ").filter(Boolean),
      env: { ...(o.unit === false ? {} : { BARNLINK_NODE_FLAGS: flags }), BARNLINK_LOG: "info" },
    });
    return flags;
  };

  const api = (path: string, body?: unknown) => adminApi(stack)(path, body);
  type Request = { id: string; state: string; reason?: string };
  const request = async (id: string) =>
    (
      (await api(`/api/v1/devices/${device}/fleet`)).json as { config: { requests: Request[] } }
    ).config.requests.find((x) => x.id === id);
  const configRecords = async () =>
    (
      (await api(`/api/v1/devices/${device}/records?stream=config`)).json as {
        records: Array<{ body: { state: string; detail: { id: string; reason?: string } } }>;
      }
    ).records;

  beforeAll(async () => {
    stack = await startStack({ broker: "aedes", db: "sqlite", modules: [fleetModule()] });
    const creds = await stack.login(device);
    const dataDir = join(stack.dir, device);
    base = {
      device,
      dataDir,
      cloud: { mqtt: { url: stack.brokerUrl, ...creds }, publicKey: stack.cloud.publicKey },
      sync: { linger: 20, ackTimeout: 3000, reconnectBase: 100, reconnectCap: 1000 },
      clock: { synced: "always" },
      http: { enabled: false },
      sources: [{ driver: "sim-barn", name: "barn", interval: "1s" }],
    };
    file = join(stack.dir, `${device}.yaml`);
    writeFileSync(file, stringify(base));
    const key = loadOrCreateKey(join(dataDir, "device.key"));
    await registerDevice(stack.cloud.ctx.db, device, key.publicKeyB64, null, Date.now());
  }, 120_000);
  afterAll(async () => {
    await agent?.kill();
    await stack?.stop();
  });

  const records = async () => {
    const row = await stack.cloud.ctx.db.kysely
      .selectFrom("records")
      .select((e) => e.fn.countAll().as("n"))
      .where("device", "=", device)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  };
  /** Starts the agent as the unit would and waits for records from it: it is up, in lite mode. */
  const startLite = async (o: { unit?: boolean } = {}) => {
    const before = await records();
    expect(unitStart(o)).toBe(LITE_FLAGS.join(" "));
    await waitFor(async () => (await records()) > before, "the lite agent's records", { timeoutMs: 60_000 });
  };
  const withCamera = () =>
    stringify({ ...base, sources: [...(base.sources as object[]), { driver: "sim-camera", name: "pen1" }] });

  it("run by hand (no unit to restart it), the lite agent refuses the config and says why", async () => {
    await startLite({ unit: false });
    const r = await api(`/api/v1/devices/${device}/config`, { config: withCamera(), deadline: "20s" });
    expect(r.status).toBe(202);
    const q = await waitFor(
      async () => {
        const x = await request(r.json.command as string);
        return x && x.state !== "sent" && x.state !== "accepted" ? x : undefined;
      },
      "the refusal",
      { timeoutMs: 90_000 },
    );
    expect(q.state).toBe("rejected");
    expect(JSON.stringify(q)).toMatch(/run by hand it cannot/);
    expect(agent!.child.exitCode).toBeNull();
    await agent!.kill("SIGTERM");
  }, 240_000);

  it("accepts, records `restarting`, exits 75; the next start runs lite-free, applies it on probation", async () => {
    await startLite();
    const r = await api(`/api/v1/devices/${device}/config`, { config: withCamera(), deadline: "20s" });
    expect(r.status).toBe(202);
    const id = r.json.command as string;
    // The lite process cannot run a camera: it stops cleanly and asks for a restart (before this
    // change it refused the config: the request turned `rejected` and the process ran on).
    const first = await Promise.race([
      agent!.exited,
      waitFor(async () => ((await request(id))?.state === "rejected" ? "rejected" : undefined), "a refusal", {
        timeoutMs: 120_000,
      }),
    ]);
    expect(first).toBe(EXIT_RESTART);
    expect(readFileSync(log(), "utf8")).toMatch(/restart on other node flags/);
    // The unit restarts it: the flags now come from the config it restarted for.
    expect(unitStart()).toBe("");
    const done = await waitFor(
      async () => {
        const q = await request(id);
        return q && ["applied", "rolled-back", "rejected"].includes(q.state) ? q : undefined;
      },
      "the config request's outcome",
      { timeoutMs: 90_000 },
    );
    expect(done, JSON.stringify(done)).toMatchObject({ state: "applied" });
    const states = (await configRecords()).filter((x) => x.body.detail.id === id).map((x) => x.body.state);
    expect(states.sort()).toEqual(["applied", "restarting"]);
    // A later restart keeps the camera, so the flags stay without lite mode.
    await agent!.kill("SIGTERM");
    expect(unitStart()).toBe("");
  }, 240_000);
});
