import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { silentLogger } from "../../core/log.ts";
import { tmpDir } from "../../test/helpers/services.ts";
import { ConfigStore, sha256 } from "./config-store.ts";
import { chooseStartupConfig } from "./startup.ts";

const KEY = "q0XhV3nq6ZQkD6N8f1n4W8m2VtY5a9bC3dE7fG1hJ2k=";

function setup() {
  const dir = tmpDir();
  const file = join(dir, "agent.yaml");
  const local = { device: "barn-9", dataDir: join(dir, "data"), cloud: { publicKey: KEY } };
  const text = stringify(local);
  writeFileSync(file, text);
  const remote = stringify({ ...local, sync: { linger: 42 } });
  return { dir, file, local, text, remote, store: new ConfigStore(local.dataDir) };
}

describe("which config a start uses (agent/fleet/startup.ts)", () => {
  it("the cloud's active config, applied over this very local file", () => {
    const s = setup();
    s.store.writePending(s.remote, { sha256: sha256(s.remote), command: "c1", baseSha256: sha256(s.text) });
    s.store.promote(1);
    const c = chooseStartupConfig(s.file, silentLogger);
    expect(c.config.sync.linger).toBe(42);
    expect(c.remote?.command).toBe("c1");
    expect(c.interrupted).toBeUndefined();
  });

  it("a local edit since then wins, and the cloud's config is retired", () => {
    const s = setup();
    s.store.writePending(s.remote, { sha256: sha256(s.remote), command: "c1", baseSha256: sha256(s.text) });
    s.store.promote(1);
    writeFileSync(s.file, stringify({ ...s.local, sync: { linger: 7 } }));
    const c = chooseStartupConfig(s.file, silentLogger);
    expect(c.config.sync.linger).toBe(7);
    expect(c.remote).toBeUndefined();
    expect(s.store.read("active")).toBeUndefined();
  });

  it("a config left on probation by a crash is dropped and reported as rolled back", () => {
    const s = setup();
    s.store.writePending(s.remote, { sha256: sha256(s.remote), command: "c2", baseSha256: sha256(s.text) });
    const c = chooseStartupConfig(s.file, silentLogger);
    expect(c.config.sync.linger).not.toBe(42);
    expect(c.interrupted).toMatchObject({ command: "c2", reason: /restarted before/ });
    expect(s.store.hasPending()).toBe(false);
  });
});
