import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import { generateKeyPair } from "../core/keys.ts";
import { silentLogger } from "../core/log.ts";
import { ERR_DRIVER_NEEDS_JIT } from "../drivers/errors.ts";
import { drivers } from "../drivers/registry.ts";
import { MemoryOutbox } from "../sync/outbox/memory-outbox.ts";
import { tmpDir } from "../test/helpers/services.ts";
import { Agent, type AgentLink } from "./agent.ts";
import { agentConfigSchema } from "./config.ts";
import { ConfigStore, sha256 } from "./fleet/config-store.ts";
import { chooseStartupConfig } from "./fleet/startup.ts";
import { jitProblems, LITE_FLAGS, nodeFlagsFor } from "./node-flags.ts";

const KEY = generateKeyPair().publicKeyB64;
const CAMERA = { driver: "sim-camera", name: "pen1" };
const SENSORS = { driver: "sim-barn", name: "barn" };
const raw = (patch: Record<string, unknown> = {}) => ({
  device: "barn-1",
  dataDir: tmpDir(),
  cloud: { mqtt: { url: "mqtt://127.0.0.1:1" }, publicKey: KEY },
  ...patch,
});
const config = (patch: Record<string, unknown> = {}) => agentConfigSchema().parse(raw(patch));

afterEach(() => vi.unstubAllGlobals());

describe("the gateway unit's node flags (agent/node-flags.ts)", () => {
  it("lite mode for sensors only; none as soon as a source does image or model work", () => {
    expect(nodeFlagsFor(config({ sources: [SENSORS] })).flags).toEqual([...LITE_FLAGS]);
    expect(nodeFlagsFor(config()).flags).toEqual([...LITE_FLAGS]);
    const heavy = drivers.filter((d) => d.needsJit).map((d) => d.name);
    expect(heavy.sort()).toEqual(["camera", "faces", "patrol", "sim-camera"]);
    const cam = nodeFlagsFor(config({ sources: [SENSORS, CAMERA] }));
    expect(cam.flags).toEqual([]);
    expect(cam.why).toMatch(/pen1 need WebAssembly/);
    expect(nodeFlagsFor(config({ sources: [SENSORS], runtime: { liteMode: "off" } })).flags).toEqual([]);
    expect(nodeFlagsFor(config({ runtime: { liteMode: "on" } })).flags).toEqual([...LITE_FLAGS]);
  });

  it("runtime.liteMode: on with a camera is a config error naming the source's driver", () => {
    const r = agentConfigSchema().safeParse(raw({ sources: [SENSORS, CAMERA], runtime: { liteMode: "on" } }));
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({
      path: ["sources", 1, "driver"],
      message: /sim-camera needs WebAssembly/,
    });
    expect(agentConfigSchema().safeParse(raw({ runtime: { liteMode: "fast" } })).success).toBe(false);
  });

  it("follows the config the agent will start with (the cloud's, applied over the file), and changes nothing", () => {
    const dir = tmpDir();
    const file = join(dir, "agent.yaml");
    const local = raw({ dataDir: join(dir, "data"), sources: [SENSORS] });
    const text = stringify(local);
    writeFileSync(file, text);
    const store = new ConfigStore(local.dataDir as string);
    const remote = stringify({ ...local, sources: [SENSORS, CAMERA] });
    store.writePending(remote, { sha256: sha256(remote), command: "c1", baseSha256: sha256(text) });
    store.promote(1);
    const next = stringify({ ...local, sync: { linger: 42 } });
    store.writePending(next, { sha256: sha256(next), command: "c2", baseSha256: sha256(text) });
    const c = chooseStartupConfig(file, silentLogger, { readOnly: true });
    expect(nodeFlagsFor(c.config).flags).toEqual([]);
    // The start itself still finds (and drops) the config left on probation.
    expect(store.hasPending()).toBe(true);
    expect(chooseStartupConfig(file, silentLogger).interrupted?.command).toBe("c2");
  });

  it("where WebAssembly is absent, a camera source stops the start with BL_DRIVER_NEEDS_JIT and a config.apply adding one is refused", async () => {
    vi.stubGlobal("WebAssembly", undefined);
    const cfg = config({ sources: [CAMERA] });
    expect(jitProblems(cfg)).toEqual([
      { path: "sources.0.driver", message: expect.stringMatching(/liteMode: off/) },
    ]);
    expect(jitProblems(config({ sources: [SENSORS] }))).toEqual([]);
    const link: AgentLink = {
      stats: { connected: false, recordsAcked: 0 } as never,
      start() {},
      async stop() {},
      kick() {},
      reconnectNow() {},
      restrict() {},
      restrictedBytes: undefined,
      async drained() {
        return true;
      },
    };
    const agent = new Agent(cfg, {
      parts: { openOutbox: () => new MemoryOutbox("barn-1"), createLink: () => link },
    });
    const err = await agent.start().catch((e: unknown) => e);
    expect(ERR_DRIVER_NEEDS_JIT.is(err), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/source pen1 \(driver sim-camera\)/);
    await agent.stop();
  });

  it("node in lite mode has no WebAssembly (what the refusals above rely on)", () => {
    const r = spawnSync(process.execPath, [...LITE_FLAGS, "-e", "process.stdout.write(typeof WebAssembly)"], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe(""); // --no-expose-wasm first: no warning about conflicting flags
    expect(r.stdout).toBe("undefined");
  });
});
