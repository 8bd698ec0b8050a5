import type { FastifyInstance } from "fastify";
import { requireRole } from "../api/auth.ts";
import type { CloudContext } from "../context.ts";
import { idempotent } from "./idempotency.ts";
import { routeTable } from "./route-table.ts";

/**
 * The lending API as a Fastify plugin. The server's requireAuth hook gives 401 without a token;
 * here writes need the officer role and reads officer or auditor (admin passes both), so an
 * auditor's write is a 403. Every write honours an Idempotency-Key header.
 */
export async function lendingRoutes(app: FastifyInstance, ctx: CloudContext): Promise<void> {
  for (const r of routeTable) {
    app.route({
      method: r.method,
      url: r.path,
      preHandler: r.write ? requireRole("officer") : requireRole("officer", "auditor"),
      handler: async (req, reply) => {
        if (r.write)
          return idempotent(ctx.db.kysely, req, reply, r.status ?? 200, () => r.handler(ctx, req, reply));
        return r.handler(ctx, req, reply);
      },
    });
  }
}
