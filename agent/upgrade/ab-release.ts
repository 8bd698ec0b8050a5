import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { httpCall } from "../../core/http-request.ts";
import { ERR_CLI_UPGRADE_EXISTS, ERR_CLI_UPGRADE_PACKAGE, ERR_CLI_UPGRADE_ROLLED_BACK } from "./errors.ts";

export interface UpgradeOptions {
  /** e.g. /opt/barnlink: releases/<version>/ beside the `current` link. */
  root: string;
  /** An `npm pack` tarball (package/ inside). */
  tarball: string;
  /** Shell command that restarts the service on the release `current` points at; "none": first install, nothing to restart or check. */
  restart: string;
  /** URL that answers 200 once the restarted agent is up (the gateway page's /healthz). */
  health: string;
  waitMs: number;
  /** `npm ci --omit=dev` in the new release (off when the tarball carries node_modules). */
  install: boolean;
  log(line: string): void;
}

/** Points `link` at `target` atomically (rename over the old link: never a moment without one). */
function pointAt(link: string, target: string) {
  const tmp = `${link}.next`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

async function healthy(url: string, waitMs: number): Promise<boolean> {
  const end = Date.now() + waitMs;
  while (Date.now() < end) {
    const ok = await httpCall(url, { signal: AbortSignal.timeout(3000) })
      .then((r) => r.status >= 200 && r.status < 300)
      .catch(() => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

const restart = (cmd: string) => spawnSync("/bin/sh", ["-c", cmd], { stdio: "inherit" }).status === 0;

/**
 * A/B upgrade: unpack the new release beside the running one, point `current` at it, restart and
 * wait for the health check; if the new release does not come up healthy within `waitMs`, point
 * `current` back at the previous release and restart that. The old release folder is never touched.
 */
export async function upgrade(o: UpgradeOptions): Promise<{ from: string | null; to: string }> {
  const releases = join(o.root, "releases");
  mkdirSync(releases, { recursive: true });
  const incoming = join(releases, `.incoming-${process.pid}`);
  rmSync(incoming, { recursive: true, force: true });
  mkdirSync(incoming);
  let version: string;
  try {
    execFileSync("tar", ["-xzf", o.tarball, "-C", incoming, "--strip-components=1"], { stdio: "pipe" });
    const pkg = JSON.parse(readFileSync(join(incoming, "package.json"), "utf8")) as {
      name?: string;
      version?: string;
    };
    if (pkg.name !== "barnlink" || !pkg.version)
      throw ERR_CLI_UPGRADE_PACKAGE(`package.json names ${pkg.name}@${pkg.version}`);
    version = `v${pkg.version}`;
  } catch (e) {
    rmSync(incoming, { recursive: true, force: true });
    throw ERR_CLI_UPGRADE_PACKAGE(
      `${o.tarball}: not a barnlink package (${(e as Error).message.split("\n")[0]})`,
    );
  }
  const target = join(releases, version);
  if (existsSync(target)) {
    rmSync(incoming, { recursive: true, force: true });
    throw ERR_CLI_UPGRADE_EXISTS(`${target} exists; remove it first if you mean to reinstall ${version}`);
  }
  renameSync(incoming, target);
  if (o.install && !existsSync(join(target, "node_modules"))) {
    o.log(`installing ${version}'s dependencies (npm ci --omit=dev)…`);
    execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], { cwd: target, stdio: "inherit" });
  }
  const current = join(o.root, "current");
  const previous = existsSync(current) ? readlinkSync(current) : null;
  pointAt(current, target);
  if (o.restart === "none") {
    o.log(`current → ${version}; not restarted (--restart none)`);
    return { from: previous ? basename(previous) : null, to: version };
  }
  o.log(`current → ${version}${previous ? ` (was ${basename(previous)})` : ""}; restarting`);
  if (restart(o.restart) && (await healthy(o.health, o.waitMs))) {
    o.log(`${version} is up and healthy (${o.health})`);
    return { from: previous ? basename(previous) : null, to: version };
  }
  if (!previous)
    throw ERR_CLI_UPGRADE_ROLLED_BACK(`${version} failed its health check and there is no previous release`);
  pointAt(current, previous);
  restart(o.restart);
  const back = await healthy(o.health, o.waitMs);
  throw ERR_CLI_UPGRADE_ROLLED_BACK(
    `${version} did not answer ${o.health} within ${Math.round(o.waitMs / 1000)} s; rolled back to ${basename(previous)}${back ? " (healthy again)" : " (which is not answering either: see journalctl -u barnlink-agent)"}`,
  );
}
