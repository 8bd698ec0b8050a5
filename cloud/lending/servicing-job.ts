import type { CloudContext } from "../context.ts";
import { servicingTick } from "./servicing.ts";

/** Runs the servicing job (servicing.ts) every `intervalMs` at ctx.now(); runs never overlap in one instance. */
export function startServicingJob(ctx: CloudContext, intervalMs: number) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    servicingTick(ctx.db.kysely, ctx.now())
      .catch((e: unknown) => ctx.log.error({ err: e }, "lending: servicing job failed"))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
