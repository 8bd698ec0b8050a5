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

describe("a config the last process restarted for (a lite-mode agent given a camera)", () => {
  const restarting = (s: ReturnType<typeof setup>, text = s.remote) =>
    s.store.writePending(text, {
      sha256: sha256(text),
      command: "c3",
      baseSha256: sha256(s.text),
      restart: { deadlineMs: 20_000 },
    });

  it("node-flags reads it; the start runs the previous config and resumes it, not as a crash", () => {
    const s = setup();
    restarting(s);
    // ExecStartPre= (readOnly) chooses this start's flags from the config restarted for
    expect(chooseStartupConfig(s.file, silentLogger, { readOnly: true }).config.sync.linger).toBe(42);
    expect(s.store.hasPending()).toBe(true);
    const c = chooseStartupConfig(s.file, silentLogger);
    expect(c.config.sync.linger).not.toBe(42);
    expect(c.resume).toMatchObject({ command: "c3", deadlineMs: 20_000 });
    expect(c.resume?.config.sync.linger).toBe(42);
    expect(c.interrupted).toBeUndefined();
    // Taken once: applied, it is pending again without the mark; a crash then is a crash on probation.
    expect(s.store.hasPending()).toBe(false);
    expect(chooseStartupConfig(s.file, silentLogger).resume).toBeUndefined();
  });

  it("one that no longer validates is dropped and reported rolled back", () => {
    const s = setup();
    restarting(s, stringify({ ...s.local, colour: "blue" }));
    expect(chooseStartupConfig(s.file, silentLogger, { readOnly: true }).config.sync.linger).not.toBe(42);
    const c = chooseStartupConfig(s.file, silentLogger);
    expect(c.resume).toBeUndefined();
    expect(c.interrupted).toMatchObject({ command: "c3", reason: /no longer validates/ });
    expect(s.store.hasPending()).toBe(false);
  });
});
