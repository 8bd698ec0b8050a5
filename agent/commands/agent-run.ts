import { join } from "node:path";
import { loadConfigFile } from "../../core/config.ts";
import { loadOrCreateKey } from "../../core/keys.ts";
import { createLogger } from "../../core/log.ts";
import { Agent } from "../agent.ts";
import { args, type CommandSpec, need, out } from "../cli-kit.ts";
import { agentConfigSchema } from "../config.ts";
import { heldClock } from "../demo/held-clock.ts";
import { type GatewayHttp, startGatewayHttp } from "../http/server.ts";
import { startSystemdNotify } from "../http/systemd-notify.ts";

const usage = "barnlink agent --config FILE";

export const agentRun: CommandSpec = {
  name: "agent",
  summary: "Run the gateway agent: sources → outbox → MQTT",
  usage,
  async run(argv) {
    const a = args(argv, { config: { type: "string", short: "c" } }, usage);
    const cfg = loadConfigFile(need(a.values.config, "--config FILE", usage), agentConfigSchema());
    // Under the demo the simulated clock stands still until the demo starts every barn's at once.
    const held =
      process.send && process.env.BARNLINK_DEMO_CLOCK === "hold" && cfg.clock.speed
        ? heldClock(cfg.clock.speed, cfg.clock.start ? Date.parse(cfg.clock.start) : Date.now())
        : undefined;
    const agent = new Agent(cfg, {
      log: createLogger(`agent:${cfg.device}`),
      ...(held ? { clock: held } : {}),
    });
    try {
      await agent.start();
    } catch (e) {
      // Whatever started (the MQTT link, other sources) stops, so the process exits with the error.
      await agent.stop().catch(() => {});
      throw e;
    }
    // The gateway page is for installers; a port clash must not stop the barn's data.
    let web: GatewayHttp | undefined;
    if (cfg.http.enabled) {
      web = await startGatewayHttp(agent, cfg.http).catch((e: Error) => {
        agent.log.warn({ err: e.message, port: cfg.http.port }, "gateway page not started");
        return undefined;
      });
      if (web) agent.log.info({ url: web.url }, "gateway page listening");
    }
    const sd = startSystemdNotify(agent.log, () => Array.isArray(agent.outbox.status()));
    // The demo runs agents as child processes and reads their status over IPC.
    const ipc = process.send
      ? setInterval(
          () => process.send?.({ type: "status", status: agent.status(), gatewayUrl: web?.url }),
          500,
        )
      : undefined;
    process.on("message", async (m: { type?: string; timeoutMs?: number; origin?: number }) => {
      if (m?.type === "clock" && typeof m.origin === "number") held?.release(m.origin);
      if (m?.type === "drain") {
        await agent.stopSources();
        // Asked to drain (the demo's Ctrl-C): everything goes, even a patrol robot away from its dock.
        agent.link.restrict(undefined);
        const ok = await agent.link.drained(m.timeoutMs ?? 30_000);
        process.send?.({ type: "drained", ok, status: agent.status() });
      }
    });
    process.send?.({ type: "ready", status: agent.status(), gatewayUrl: web?.url });
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      process.once("disconnect", resolve);
    });
    clearInterval(ipc);
    sd.stopping();
    sd.stop();
    await web?.close();
    await agent.stop();
    // An open IPC channel keeps a forked process alive.
    if (process.connected) process.disconnect();
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
