import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { serviceAvailable } from "../helpers/services.ts";
import { waitFor as waitForCondition } from "../helpers/wait-for.ts";

export const CHROMIUM = process.env.BARNLINK_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = join(ROOT, "test-artifacts");

/** Debian's chromium; never a downloaded browser. Missing: a failure under CI=true, a printed skip otherwise. */
export const chromiumAvailable = () =>
  serviceAvailable(`chromium (${CHROMIUM}; apt-get install -y chromium)`, async () => existsSync(CHROMIUM));

/** playwright's launch() gives every browser a fresh temporary profile (user-data-dir) of its own. */
export async function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface Demo {
  cloudUrl: string;
  adminToken: string;
  auditorToken: string;
  gateways: Map<string, string>;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * `barnlink demo` as a child process (what `npm start` runs), on free ports, until stopped. Resolves
 * once it has printed the dashboard URL, both tokens and barn 1's gateway page.
 */
export async function startDemo(): Promise<Demo> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, "bin/barnlink.js"), "demo", "--duration", "10m", "--http-port", "0", "--mqtt-port", "0"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BARNLINK_LOG: "warn" } },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  // The demo prints the gateway pages once every agent is up: slow on a busy machine (cold tsx start).
  const end = Date.now() + 240_000;
  const gateways = new Map<string, string>();
  while (Date.now() < end) {
    for (const m of out.matchAll(/gateway page (\S+)\s+(http\S+?)\/?$/gm)) gateways.set(m[1]!, m[2]!);
    // Only barn 1 (camera, Modbus) is needed: a slow barn must not fail the pages' tests.
    if (gateways.has("barn-1") && /simulated time:/.test(out)) break;
    if (child.exitCode !== null) throw new Error(`demo exited early:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const cloudUrl = /cloud API \+ dashboard (http:\/\/\S+?)\/#token=/.exec(out)?.[1];
  const adminToken = /API token \(admin\)\s+(\S+)/.exec(out)?.[1];
  const auditorToken = /API token \(auditor\)\s+(\S+)/.exec(out)?.[1];
  if (!cloudUrl || !adminToken || !auditorToken || !gateways.has("barn-1")) {
    child.kill("SIGKILL");
    throw new Error(`demo did not print its URLs in time:\n${out}`);
  }
  return {
    cloudUrl,
    adminToken,
    auditorToken,
    gateways,
    output: () => out,
    stop: () =>
      new Promise((resolveStop) => {
        if (child.exitCode !== null) return resolveStop(child.exitCode);
        // Generous: a busy machine makes the demo's orderly shutdown slow, and only a hung one is killed.
        const t = setTimeout(() => child.kill("SIGKILL"), 150_000);
        child.once("exit", (code) => {
          clearTimeout(t);
          resolveStop(code);
        });
        child.kill("SIGINT");
      }),
  };
}

export async function getJson<T>(url: string, token?: string): Promise<T> {
  const r = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** waitFor (test/helpers/wait-for.ts) with the page tests' argument order, polling every 500 ms. */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  return waitForCondition(fn, what, { timeoutMs: ms, intervalMs: 500 });
}
