import { join } from "node:path";
import { loadConfigFile } from "../../core/config.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";
import { heldClock } from "../demo/held-clock.ts";
import { gatewayHost } from "../fleet/gateway-host.ts";
import { LogRing, ringLogger } from "../fleet/log-ring.ts";
import { chooseStartupConfig } from "../fleet/startup.ts";
import { memTrace, memTraceEvery } from "../mem-trace.ts";

const usage = "barnlink agent --config FILE";
/** EX_TEMPFAIL: the agent exits to be restarted on other node flags (the unit restarts it). */
export const EXIT_RESTART = 75;

export const agentRun: CommandSpec = {
  name: "agent",
  summary: "Run the gateway agent: sources → outbox → MQTT",
  usage,
  async run(argv) {
    memTrace("imports");
    const a = args(argv, { config: { type: "string", short: "c" } }, usage);
    const file = need(a.values.config, "--config FILE", usage);
    const ring = new LogRing();
    const boot = ringLogger("agent", ring);
    // The local file, or the config the cloud applied on top of it (agent/fleet/startup.ts).
    const choice = chooseStartupConfig(file, boot);
    const cfg = choice.config;
    memTrace("config");
    const log = ringLogger(`agent:${cfg.device}`, ring);
    // Under the demo the simulated clock stands still until the demo starts every barn's at once.
    const held =
      process.send && process.env.BARNLINK_DEMO_CLOCK === "hold" && cfg.clock.speed
        ? heldClock(cfg.clock.speed, cfg.clock.start ? Date.parse(cfg.clock.start) : Date.now())
        : undefined;
    const onFatal = (e: Error) => {
      // Not even the previous config starts again: exit, systemd restarts on the active config.
      log.fatal({ err: e.message }, "config.apply: the previous config did not start again; exiting");
      process.exit(1);
    };
    // Set when a config.apply needs other node flags (config-apply.ts): stop cleanly, exit 75.
    let restart: string | undefined;
    let wake = () => {};
    const { host, web } = gatewayHost(choice, {
      log,
      ring,
      ...(held ? { clock: held } : {}),
      onFatal,
      // Only under the unit (its ExecStartPre= sets BARNLINK_NODE_FLAGS from the config at each start).
      ...(process.env.BARNLINK_NODE_FLAGS !== undefined
        ? {
            onRestart: (reason: string) => {
              restart = reason;
              wake();
            },
          }
        : {}),
    });
    // Whatever started (the MQTT link, other sources) stops, so the process exits with the error.
    await host.start();
    memTrace("started");
    const trace = memTraceEvery(5000);
    if (choice.interrupted)
      host.record(
        { state: "rolled-back", ...choice.interrupted },
        choice.interrupted.command,
        host.remote?.sha256 ?? "local",
      );
    // The config this process was restarted for: on probation now, rolled back like any other.
    const r = choice.resume;
    if (r) void host.apply(r.config, r.text, r.command, r.deadlineMs).catch(onFatal);
    // Only under systemd (NOTIFY_SOCKET): elsewhere node:child_process is never loaded (#15).
    const sd = process.env.NOTIFY_SOCKET
      ? (await import("../http/systemd-notify.ts")).startSystemdNotify(
          log,
          () => host.swapping || Array.isArray(host.agent.outbox.status()),
        )
      : { stopping() {}, stop() {} };
    log.info(
      { sources: host.agent.config.sources.map((s) => `${s.name} (${s.driver})`), page: web()?.url ?? null },
      "agent started",
    );
    // The demo runs agents as child processes and reads their status over IPC.
    const ipc = process.send
      ? setInterval(
          () =>
            !host.swapping &&
            process.send?.({ type: "status", status: host.agent.status(), gatewayUrl: web()?.url }),
          500,
        )
      : undefined;
    process.on("message", async (m: { type?: string; timeoutMs?: number; origin?: number }) => {
      if (m?.type === "clock" && typeof m.origin === "number") held?.release(m.origin);
      if (m?.type === "drain") {
        const agent = host.agent;
        await agent.stopSources();
        // Asked to drain (the demo's Ctrl-C): everything goes, even a patrol robot away from its dock.
        agent.link.restrict(undefined);
        const ok = await agent.link.drained(m.timeoutMs ?? 30_000);
        process.send?.({ type: "drained", ok, status: agent.status() });
      }
    });
    process.send?.({ type: "ready", status: host.agent.status(), gatewayUrl: web()?.url });
    await new Promise<void>((resolve) => {
      wake = resolve;
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      process.once("disconnect", resolve);
    });
    clearInterval(ipc);
    clearInterval(trace);
    sd.stopping();
    sd.stop();
    await host.stop();
    // An open IPC channel keeps a forked process alive.
    if (process.connected) process.disconnect();
    if (restart) {
      log.warn({ reason: restart }, "exiting for a restart on other node flags (exit status 75)");
      return EXIT_RESTART;
    }
    return 0;
  },
};

const keyUsage = "barnlink keys show --config FILE";
export const keysShow: CommandSpec = {
  name: "keys show",
  summary: "Print this gateway's public key (register it in the cloud); creates the key if missing",
  usage: keyUsage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" } }, keyUsage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", keyUsage), agentConfigSchema());
    out(loadOrCreateKey(join(cfg.dataDir, "device.key")).publicKeyB64);
    return 0;
  },
};
