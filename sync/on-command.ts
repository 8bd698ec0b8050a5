import type { KeyObject } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import type { LinkStats } from "./link.ts";
import { type Command, verifyCommand } from "./messages.ts";

export interface CommandContext {
  device: string;
  cloudKey: KeyObject;
  clock: Clock;
  log: Logger;
  stats: LinkStats;
  /** True the first time a command id is seen (persisted by the caller): a replay is ignored. */
  firstSight?: (id: string) => boolean;
  onCommand?: (cmd: Command) => void | Promise<void>;
}

/**
 * A message on the command topic: run only if it verifies against the cloud's key, has not expired
 * (when the clock can tell) and has not been seen before.
 */
export function onCommand(ctx: CommandContext, payload: Buffer): void {
  const v = verifyCommand(ctx.cloudKey, payload, ctx.device);
  if (!v.ok) {
    ctx.stats.forgedCommands++;
    ctx.log.warn({ reason: v.reason }, "ignored a command that does not verify");
    return;
  }
  const cmd = v.msg;
  const now = ctx.clock.now();
  if (now.synced && cmd.expires < now.wall) {
    ctx.log.warn({ id: cmd.id }, "ignored an expired command");
    return;
  }
  if (ctx.firstSight && !ctx.firstSight(cmd.id)) return;
  Promise.resolve(ctx.onCommand?.(cmd)).catch((e) =>
    ctx.log.error({ id: cmd.id, err: (e as Error).message }, "command failed"),
  );
}
