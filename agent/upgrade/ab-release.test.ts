import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/helpers/wait-for.ts";
import { upgrade } from "./ab-release.ts";

const dir = mkdtempSync(join(tmpdir(), "bl-upgrade-"));
const root = join(dir, "opt");
const pidFile = join(dir, "service.pid");
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** An `npm pack`-shaped tarball whose "agent" serves /healthz, or dies at start when broken. */
function pack(version: string, broken = false): string {
  const src = join(dir, `src-${version}`, "package");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "package.json"), JSON.stringify({ name: "barnlink", version }));
  writeFileSync(
    join(src, "agent.js"),
    broken
      ? "process.exit(3);\n"
      : `require("node:http").createServer((q, s) => s.end(${JSON.stringify(version)})).listen(Number(process.argv[2]), "127.0.0.1");\n`,
  );
  const file = join(dir, `barnlink-${version}.tgz`);
  execFileSync("tar", ["-czf", file, "-C", join(dir, `src-${version}`), "package"]);
  return file;
}

let port = 0;
// The "service manager": stop the running agent, start the one `current` points at (a real process).
const restartCmd = () =>
  `kill $(cat ${pidFile} 2>/dev/null) 2>/dev/null; nohup ${process.execPath} ${root}/current/agent.js ${port} >/dev/null 2>&1 & echo $! > ${pidFile}`;
afterAll(() => {
  try {
    process.kill(Number(readFileSync(pidFile, "utf8")));
  } catch {
    // already gone
  }
});
const opts = () => ({
  root,
  restart: restartCmd(),
  health: `http://127.0.0.1:${port}/healthz`,
  install: false,
  log: () => {},
});

describe("barnlink upgrade (A/B release folders)", () => {
  it("installs beside the running release, switches, and keeps it when it is healthy", async () => {
    port = await freePort();
    // First install: no service to restart yet.
    expect(await upgrade({ ...opts(), restart: "none", tarball: pack("0.1.0"), waitMs: 1000 })).toEqual({
      from: null,
      to: "v0.1.0",
    });
    await upgrade({ ...opts(), tarball: pack("0.1.5"), waitMs: 120_000 });
    const r = await upgrade({ ...opts(), tarball: pack("0.2.0"), waitMs: 120_000 });
    expect(r).toEqual({ from: "v0.1.5", to: "v0.2.0" });
    expect(basename(readlinkSync(join(root, "current")))).toBe("v0.2.0");
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("0.2.0");
  }, 300_000);

  it("a release that fails its health check is rolled back by itself, and the old one runs again", async () => {
    await expect(upgrade({ ...opts(), tarball: pack("0.3.0", true), waitMs: 10_000 })).rejects.toMatchObject({
      code: "BL_CLI_UPGRADE_ROLLED_BACK",
      message: expect.stringMatching(/v0\.3\.0 did not answer .* rolled back to v0\.2\.0/),
    });
    expect(basename(readlinkSync(join(root, "current")))).toBe("v0.2.0");
    const healthz = () =>
      fetch(`http://127.0.0.1:${port}/healthz`)
        .then((x) => x.text())
        .catch(() => "");
    await waitFor(async () => (await healthz()) === "0.2.0", "v0.2.0 answering again", {
      timeoutMs: 120_000,
    });
  }, 300_000);

  it("refuses what is not a barnlink package, and never overwrites an installed release", async () => {
    const junk = join(dir, "junk.tgz");
    writeFileSync(junk, "not a tarball");
    await expect(upgrade({ ...opts(), tarball: junk, waitMs: 1000 })).rejects.toMatchObject({
      code: "BL_CLI_UPGRADE_PACKAGE",
    });
    await expect(
      upgrade({ ...opts(), tarball: join(dir, "barnlink-0.2.0.tgz"), waitMs: 1000 }),
    ).rejects.toMatchObject({
      code: "BL_CLI_UPGRADE_EXISTS",
    });
    expect(basename(readlinkSync(join(root, "current")))).toBe("v0.2.0");
  });
});
