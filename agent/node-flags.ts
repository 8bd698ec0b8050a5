import { driverByName } from "../drivers/registry.ts";
import type { AgentConfig } from "./config.ts";

/**
 * The node flags that depend on the config, added by the gateway's unit to its fixed ones
 * (deploy/barnlink-agent.service: `ExecStartPre=… agent node-flags` writes them, `ExecStart=` reads
 * them). V8's lite mode (no optimising compiler, no WebAssembly) takes ~10 MB off a gateway that
 * reads sensors only, at no cost to the few records a second it handles (docs/performance.md); a
 * source that does image or model work (a driver with `needsJit`) needs both, so it turns lite mode
 * off. `--no-expose-wasm` first, so that V8 does not warn that lite mode turned WebAssembly off.
 * `--bytecode-old-age=1`: the bytecode of a function not run since the last full GC is dropped
 * (recompiled from source if it runs again), not kept for 5 GCs: start-up code goes early (peer
 * job: RSS 0.99×, −0.6 MB, CPU within the spread, docs/performance.md).
 */
export const LITE_FLAGS = ["--no-expose-wasm", "--lite-mode", "--bytecode-old-age=1"] as const;

export interface NodeFlagsChoice {
  flags: string[];
  /** One line for a person: why these flags. */
  why: string;
}

export function nodeFlagsFor(cfg: AgentConfig): NodeFlagsChoice {
  const mode = cfg.runtime.liteMode;
  if (mode === "off") return { flags: [], why: "runtime.liteMode: off" };
  if (mode === "on") return { flags: [...LITE_FLAGS], why: "runtime.liteMode: on" };
  const heavy = cfg.sources.filter((s) => driverByName(s.driver)?.needsJit).map((s) => s.name);
  return heavy.length
    ? { flags: [], why: `runtime.liteMode: auto, and ${heavy.join(", ")} need WebAssembly` }
    : { flags: [...LITE_FLAGS], why: "runtime.liteMode: auto, and no source needs WebAssembly" };
}

/** Whether this process can run the config's sources (a config.apply on a lite-mode node). */
export function jitProblems(cfg: AgentConfig): Array<{ path: string; message: string }> {
  if (typeof WebAssembly !== "undefined") return [];
  return cfg.sources.flatMap((s, i) =>
    driverByName(s.driver)?.needsJit
      ? [
          {
            path: `sources.${i}.driver`,
            message: `driver ${s.driver} needs WebAssembly, and this agent runs in lite mode (its flags were chosen at start from a config without such a source); under the systemd unit the agent restarts itself into the flags this config needs, run by hand it cannot: restart node without --lite-mode (or set runtime.liteMode: off), then apply`,
          },
        ]
      : [],
  );
}
