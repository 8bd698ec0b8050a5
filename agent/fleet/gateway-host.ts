import type { Clock } from "../../core/clock.ts";
import type { Logger } from "../../core/log.ts";
import { Agent, type AgentParts } from "../agent.ts";
import type { GatewayHttp } from "../http/server.ts";
import { registerConfigApply } from "./config-apply.ts";
import { AgentHost } from "./host.ts";
import type { LogRing } from "./log-ring.ts";
import type { StartupChoice } from "./startup.ts";
import { registerStatusReport } from "./status-report.ts";

/**
 * The gateway as `barnlink agent` runs it: the agent on the chosen config, its gateway page beside
 * it, and the fleet commands (config.apply, status.report) on every agent the host builds.
 */
export function gatewayHost(
  choice: StartupChoice,
  o: {
    log: Logger;
    ring: LogRing;
    clock?: Clock;
    parts?: AgentParts;
    onFatal(e: Error): void;
    /** Under the systemd unit: exit for a restart on other node flags (config-apply.ts). */
    onRestart?(reason: string): void;
  },
): { host: AgentHost; web(): GatewayHttp | undefined } {
  let web: GatewayHttp | undefined;
  const host = new AgentHost(
    choice.config,
    {
      log: o.log,
      store: choice.store,
      ring: o.ring,
      create: (c) =>
        new Agent(c, {
          log: o.log,
          ...(o.clock ? { clock: o.clock } : {}),
          ...(o.parts ? { parts: o.parts } : {}),
        }),
      register: (agent, h) => {
        registerConfigApply(agent, h, {
          onFatal: o.onFatal,
          ...(o.onRestart ? { onRestart: o.onRestart } : {}),
        });
        registerStatusReport(agent, h, o.ring);
      },
      // The gateway page is for installers; a port clash must not stop the barn's data.
      companion: async (agent) => {
        web = undefined;
        const c = agent.config.http;
        if (!c.enabled) return undefined;
        // node:http loads only where the page is on (~1.4 MB of RSS alone, issue #15).
        const { startGatewayHttp } = await import("../http/server.ts");
        web = await startGatewayHttp(agent, c).catch((e: Error) => {
          agent.log.warn({ err: e.message, port: c.port }, "gateway page not started");
          return undefined;
        });
        if (web) agent.log.info({ url: web.url }, "gateway page listening");
        return web;
      },
    },
    { remote: choice.remote, localSha256: choice.localSha256 },
  );
  return { host, web: () => web };
}
